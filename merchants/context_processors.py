from merchants.access import active_membership


def merchant(request):
    """The active merchant, the user's role there, and the merchants they may switch to."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = active_membership(request)
    return {
        "membership": membership,
        "merchant": membership.merchant if membership else None,
        "memberships": getattr(request, "_memberships", []),
    }
