"""static/js/rules.js, the pages' copy of the points rules, computes what the database's functions do.

A few hundred seeded random programs, amounts, discounts, multipliers and points go through the SQL
functions (loyalty_points_for, loyalty_sale_points, loyalty_redemption_discount, loyalty_redemption_limit)
and through rules.js in one node process; every answer must be the same, refusals included.
"""

import json
import math
import random
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction

RULES_JS = Path(settings.BASE_DIR) / "static" / "js" / "rules.js"
CASES = 400

# Reads the cases as JSON on stdin, answers as JSON on stdout; a refusal is "error", as in the database.
RUNNER = """
const rules = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const answer = (compute) => { try { return compute(); } catch (error) { return "error"; } };
  const results = JSON.parse(input).map((c) => ({
    points_for: answer(() => rules.pointsFor(c.program, c.amount, c.multiplier)),
    sale_points: answer(() => rules.salePoints(c.program, c.amount, c.discount, c.multiplier)),
    discount: answer(() => rules.redemptionDiscount(c.program, c.points)),
    limit: answer(() => rules.redemptionLimit(c.program, c.amount)),
  }));
  process.stdout.write(JSON.stringify(results));
});
"""

SQL = {
    "points_for": "SELECT loyalty_points_for(p, %(amount)s::numeric, %(multiplier)s::numeric) FROM program p",
    "sale_points": "SELECT loyalty_sale_points(p, %(amount)s::numeric, %(discount)s::numeric, %(multiplier)s::numeric)"
    " FROM program p",
    "discount": "SELECT loyalty_redemption_discount(p, %(points)s::integer)::text FROM program p",
    "limit": "SELECT loyalty_redemption_limit(p, %(amount)s::numeric)::text FROM program p",
}
RATES = ["1", "0.1", "1.5", "2.75", "0.0125", "0.3333", "3", "10", "0"]
POINT_VALUES = ["0.01", "0.005", "0.0125", "0.1", "1", "2.5", "0.3333"]
PERCENTS = ["50", "50.00", "33.33", "100", "0", "12.5"]
PROGRAM = "WITH program AS (SELECT * FROM jsonb_populate_record(NULL::loyalty_programs, %(program)s::jsonb)) "


def cents(number: int) -> str:
    return f"{number // 100}.{number % 100:02d}"


def units_near_a_boundary(rng: random.Random, rate: str, multiplier: str | None, places: int) -> int:
    """An amount, in units of 10**-places, whose amount x rate x multiplier is a whole number or a half, or lies a
    few digits of its last decimal below one: exact in numeric, often rounded the other way by floats."""
    factor = (Decimal(rate) * Decimal(multiplier or 1)).normalize()
    scale = max(-factor.as_tuple().exponent, 0)
    step, modulus = int(factor.scaleb(scale)), 10 ** (places + scale)  # amount x factor = units x step / modulus
    if step == 0:
        return rng.randint(0, 100_000)
    target = rng.choice([modulus, modulus // 2]) - rng.choice([0, 0, rng.randint(1, 9)])
    common = math.gcd(step, modulus)
    target -= target % common  # the nearest reachable value below the target
    units = target // common * pow(step // common, -1, modulus // common) % (modulus // common)
    return units + modulus // common * rng.randint(0, 3)


def random_case(rng: random.Random) -> dict:
    """A program and a sale under it, in the columns' own precision; money in cents or in whole yen."""
    whole_currency = rng.random() < 0.3  # JPY: amounts have no cents
    program = {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "is_active": True,
        "points_per_dollar": rng.choice(RATES + [f"{rng.randint(0, 99_999_999) / 10_000:.4f}"]),
        "rounding": rng.choice(["down", "nearest"]),
        "min_spend_amount": rng.choice(["0", "0.00", "5.00", "100", cents(rng.randint(0, 5_000))]),
        "max_points_per_transaction": rng.choice([None, None, 1, 50, rng.randint(1, 10_000), 2_000_000_000]),
        "earn_on_total": rng.random() < 0.5,
        "point_value": rng.choice(POINT_VALUES + [f"{rng.randint(1, 99_999_999) / 10_000:.4f}"]),
        "max_redemption_percent": rng.choice(PERCENTS + [cents(rng.randint(0, 10_000))]),
    }
    multiplier = rng.choice(["1", "1.25", "1.5", "2", "1.00", None, cents(rng.randint(100, 1_000))])  # a tier: 1 to 10
    largest = 100_000 if whole_currency else 10_000_000  # in yen or in cents
    if rng.random() < 0.05:  # now and then a sale earning more than the points column holds
        program["points_per_dollar"], program["max_points_per_transaction"] = "9999.9999", None
        largest *= 100
    if rng.random() < 0.25:  # points just below a whole number or a half, where a float copy goes wrong
        program["min_spend_amount"], program["max_points_per_transaction"] = "0", None
        if rng.random() < 0.5:  # every decimal place used: 8 of them after the point in amount x rate x multiplier
            program["points_per_dollar"] = f"{rng.randint(0, 9)}.{rng.randint(0, 999):03d}{rng.choice('1379')}"
            multiplier = f"{rng.randint(1, 9)}.{rng.randint(0, 9)}{rng.choice('1379')}"
        amount_units = units_near_a_boundary(rng, program["points_per_dollar"], multiplier, 0 if whole_currency else 2)
    else:
        amount_units = rng.randint(0, largest)
    discount_units = rng.randint(0, amount_units) if rng.random() < 0.8 else 0
    money = str if whole_currency else cents
    amount, discount = money(amount_units), money(discount_units)
    if rng.random() < 0.05:  # exactly the minimum spend
        amount, discount = program["min_spend_amount"], "0"
    return {
        "program": program,
        "amount": amount,
        "discount": discount,
        "multiplier": multiplier,
        "points": rng.choice([0, 1, 100, rng.randint(0, 20_000), rng.randint(0, 2_000_000)]),
    }


def in_database(case: dict) -> dict:
    """The four answers of the SQL functions; "error" where the database refuses (its own savepoint each)."""
    params = {**case, "program": json.dumps(case["program"])}
    answers = {}
    with connection.cursor() as cursor:
        for name, query in SQL.items():
            try:
                with transaction.atomic():
                    cursor.execute(PROGRAM + query, params)
                    answers[name] = cursor.fetchone()[0]
            except DatabaseError:
                answers[name] = "error"
    return answers


def in_node(cases: list[dict]) -> list[dict]:
    node = shutil.which("node")
    assert node, "node is needed to test static/js/rules.js (Debian: apt-get install nodejs npm)"
    run = subprocess.run(
        [node, "-e", RUNNER, str(RULES_JS)], input=json.dumps(cases), capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_rules_js_computes_what_the_database_functions_do(db):
    rng = random.Random(20261214)
    cases = [random_case(rng) for _ in range(CASES)]

    expected = [in_database(case) for case in cases]
    computed = in_node(cases)

    assert len(computed) == len(cases)
    for number, (case, database, javascript) in enumerate(zip(cases, expected, computed, strict=True)):
        assert javascript == database, (
            f"case {number}: {json.dumps(case)}\ndatabase: {database}\nrules.js: {javascript}"
        )
    # the cases reach the corners they are meant to: refusals, the minimum spend, the cap, earning on the rest
    assert any(answer["points_for"] == "error" for answer in expected)
    pairs = [(case["program"], Decimal(case["amount"]), answer) for case, answer in zip(cases, expected, strict=True)]
    minimum = [
        (amount - Decimal(program["min_spend_amount"]), answer["points_for"]) for program, amount, answer in pairs
    ]
    assert any(below < 0 and points == 0 for below, points in minimum)
    assert any(below == 0 and points not in (0, "error") for below, points in minimum)
    assert any(answer["points_for"] == program["max_points_per_transaction"] for program, _, answer in pairs)
    assert any(answer["sale_points"] != answer["points_for"] for answer in expected)
