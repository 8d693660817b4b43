from django.db import transaction

from loyalty.models import LoyaltyProgram
from merchants.models import Merchant, User
from system.audit import set_acting_user


@transaction.atomic
def program_update(*, merchant: Merchant, acting_user: User, **rules) -> LoyaltyProgram:
    """Change the earning and redemption rules of the merchant's active program (made if it has none).

    Sales completed from now on earn by the new rules; past sales keep the rate stored on them.
    """
    set_acting_user(acting_user)
    program = LoyaltyProgram.objects.select_for_update().filter(merchant=merchant, is_active=True).first()
    if program is None:
        program = LoyaltyProgram(merchant=merchant, is_active=True)
    for name, value in rules.items():
        setattr(program, name, value)
    program.full_clean()
    program.save()
    return program
