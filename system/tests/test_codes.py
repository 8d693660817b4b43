"""Customer and merchant codes: system/codes.py and the SQL functions follow one rule.

`loyalty_code(n)` / `loyalty_code_is_valid(text)` (migration system 0001) and
`codes.generate(n)` / `codes.is_valid(text)` must accept exactly the same codes, or a code
printed by one side would be refused by the other.
"""

import pytest
from django.db import DataError, transaction

from system import codes
from system.testing import sql

AMBIGUOUS = "0O1I"


def sql_codes(length: int, count: int = 500) -> list[str]:
    return [code for (code,) in sql("SELECT loyalty_code(%s) FROM generate_series(1, %s)", [length, count])]


def sql_verdicts(candidates: list[str]) -> dict[str, bool]:
    """loyalty_code_is_valid() of every candidate, in one query."""
    rows = sql("SELECT c, loyalty_code_is_valid(c) FROM unnest(%s::text[]) AS c", [candidates])
    assert len(rows) == len(candidates)
    return dict(rows)


def substitutions(code: str) -> list[str]:
    """Every code that differs from `code` in exactly one character, within the alphabet."""
    return [code[:i] + c + code[i + 1 :] for i in range(len(code)) for c in codes.ALPHABET if c != code[i]]


def neighbour_swaps(code: str) -> list[str]:
    """Every code made by swapping two neighbouring, different characters of `code`."""
    return [code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(len(code) - 1) if code[i] != code[i + 1]]


def mistype(code: str) -> str:
    position = len(code) // 2
    return code[:position] + next(c for c in codes.ALPHABET if c != code[position]) + code[position + 1 :]


# --- the alphabet ------------------------------------------------------------------------------


def test_alphabet_has_31_distinct_symbols_without_ambiguous_ones():
    assert len(codes.ALPHABET) == len(set(codes.ALPHABET)) == codes.BASE == 31
    assert not set(AMBIGUOUS + "U") & set(codes.ALPHABET)


# --- SQL and Python agree ----------------------------------------------------------------------


@pytest.mark.parametrize("length", [codes.MERCHANT_CODE_LENGTH, codes.CUSTOMER_CODE_LENGTH])
def test_codes_generated_by_sql_are_valid_in_python(db, length):
    generated = sql_codes(length)

    assert len(generated) == 500
    assert len(set(generated)) == 500  # 31**(length - 1) possibilities: a repeat means a broken generator
    assert all(len(code) == length for code in generated)
    assert [code for code in generated if not codes.is_valid(code)] == []


@pytest.mark.parametrize("length", [codes.MERCHANT_CODE_LENGTH, codes.CUSTOMER_CODE_LENGTH])
def test_codes_generated_by_python_are_valid_in_sql(db, length):
    generated = [codes.generate(length) for _ in range(500)]

    verdicts = sql_verdicts(generated)

    assert all(len(code) == length for code in generated)
    assert [code for code, valid in verdicts.items() if not valid] == []


def test_single_python_code_is_valid_by_a_plain_sql_call(db):
    code = codes.generate(codes.CUSTOMER_CODE_LENGTH)
    assert sql("SELECT loyalty_code_is_valid(%s)", [code]) == [(True,)]


@pytest.mark.parametrize("length", range(2, 31))
def test_both_sides_agree_at_every_supported_length(db, length):
    from_sql = sql_codes(length, count=20)
    from_python = [codes.generate(length) for _ in range(20)]

    assert all(codes.is_valid(code) and len(code) == length for code in from_sql)
    assert all(sql_verdicts(from_python).values())


@pytest.mark.parametrize("length", [0, 1, 31, 40])
def test_lengths_without_a_code_are_refused_by_both_sides(db, length):
    with pytest.raises(ValueError, match="2 to 30 characters"):
        codes.generate(length)
    with pytest.raises(DataError, match="2 to 30 characters"):
        with transaction.atomic():
            sql("SELECT loyalty_code(%s)", [length])


@pytest.mark.parametrize("length", [codes.MERCHANT_CODE_LENGTH, codes.CUSTOMER_CODE_LENGTH])
def test_generated_codes_contain_no_ambiguous_characters(db, length):
    generated = "".join(sql_codes(length)) + "".join(codes.generate(length) for _ in range(500))

    assert set(generated) <= set(codes.ALPHABET)
    assert not set(generated) & set(AMBIGUOUS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2",  # the valid code of length 1: sum 0
        "22",
        "2" * 30,  # weighted sum 0 and 30 characters: valid
        "2" * 31,  # too long for the rule, though its sum is 0
        "ABCDEFGHJKL",
        "abcdefghjkl",
        "22222222 2",
        "2222-22222",
        "0000000000",
        "OOOOOOOOOO",
        "1111111111",
        "IIIIIIIIII",
        "UUUUUUUUUU",
        "2222222222é",
    ],
)
def test_python_and_sql_agree_on_odd_inputs(db, text):
    assert sql_verdicts([text])[text] is codes.is_valid(text)


# --- the check character catches typing mistakes -----------------------------------------------


@pytest.fixture(params=["sql-merchant", "sql-customer", "python-merchant", "python-customer"])
def valid_code(request, db):
    source, kind = request.param.split("-")
    length = codes.MERCHANT_CODE_LENGTH if kind == "merchant" else codes.CUSTOMER_CODE_LENGTH
    code = sql_codes(length, count=1)[0] if source == "sql" else codes.generate(length)
    assert codes.is_valid(code) and sql_verdicts([code])[code]
    return code


def test_every_single_character_substitution_is_rejected_by_both(valid_code):
    variants = substitutions(valid_code)

    assert len(variants) == len(valid_code) * (codes.BASE - 1)
    assert [v for v in variants if codes.is_valid(v)] == []
    assert [v for v, valid in sql_verdicts(variants).items() if valid] == []


def test_every_swap_of_neighbouring_different_characters_is_rejected_by_both(valid_code):
    variants = neighbour_swaps(valid_code)

    assert variants  # only a code of one repeated character (odds 31**-8) has no such pair
    assert [v for v in variants if codes.is_valid(v)] == []
    assert [v for v, valid in sql_verdicts(variants).items() if valid] == []


def test_neighbour_swaps_leave_out_equal_neighbours():
    assert neighbour_swaps("22345") == [
        "23245",
        "22435",
        "22354",
    ]


# --- normalize ---------------------------------------------------------------------------------


@pytest.fixture
def customer_code():
    return codes.generate(codes.CUSTOMER_CODE_LENGTH)


def test_normalize_accepts_lower_case_spaces_and_dashes(customer_code):
    typed = [
        customer_code.lower(),
        f"  {customer_code}  ",
        "-".join([customer_code[:4], customer_code[4:8], customer_code[8:]]),
        " ".join(customer_code.lower()),
        f"{customer_code[:5].lower()} - {customer_code[5:]}\n",
    ]
    assert [codes.normalize(text, codes.CUSTOMER_CODE_LENGTH) for text in typed] == [customer_code] * len(typed)


def test_normalize_returns_a_valid_code_unchanged(customer_code):
    assert codes.normalize(customer_code, codes.CUSTOMER_CODE_LENGTH) == customer_code


@pytest.mark.parametrize(
    "text_of",
    [
        pytest.param(lambda code: code[:-1], id="one-character-short"),
        pytest.param(lambda code: code + "2", id="one-character-long"),
        pytest.param(lambda code: "", id="empty"),
        pytest.param(lambda code: "0" + code[1:], id="zero"),
        pytest.param(lambda code: "O" + code[1:], id="letter-O"),
        pytest.param(lambda code: "1" + code[1:], id="one"),
        pytest.param(lambda code: "I" + code[1:], id="letter-I"),
        pytest.param(lambda code: "U" + code[1:], id="letter-U"),
        pytest.param(lambda code: code[:5] + "_" + code[6:], id="underscore"),
        pytest.param(lambda code: code[:5] + "." + code[5:], id="dot-added"),
    ],
)
def test_normalize_calls_a_code_of_the_wrong_shape_malformed(customer_code, text_of):
    text = text_of(customer_code)

    with pytest.raises(codes.CodeError) as error:
        codes.normalize(text, codes.CUSTOMER_CODE_LENGTH)

    assert error.value.reason == "malformed"
    assert str(error.value) == f"A code has 11 characters from {codes.ALPHABET}; got {text!r}."


def test_normalize_refuses_a_merchant_code_where_a_customer_code_is_expected():
    merchant_code = codes.generate(codes.MERCHANT_CODE_LENGTH)

    with pytest.raises(codes.CodeError) as error:
        codes.normalize(merchant_code, codes.CUSTOMER_CODE_LENGTH)

    assert error.value.reason == "malformed"


def test_normalize_calls_a_mistyped_code_a_bad_check_character(customer_code):
    typo = mistype(customer_code)

    with pytest.raises(codes.CodeError) as error:
        codes.normalize(typo.lower(), codes.CUSTOMER_CODE_LENGTH)

    assert error.value.reason == "bad_check_character"
    assert str(error.value) == f"{typo} is not a valid code: check for a mistyped character."


def test_code_error_is_a_value_error():
    with pytest.raises(ValueError, match="mistyped character"):
        codes.normalize(mistype(codes.generate(9)), 9)


@pytest.mark.parametrize(
    ("code", "masked"),
    [("7MJYY77RM2N", "•••• RM2N"), ("7MJY-Y77R-M2N", "•••• RM2N"), ("ABC", "•••• ABC"), ("", "")],
)
def test_a_masked_code_keeps_only_its_last_four_characters(code, masked):
    assert codes.mask_code(code) == masked
