"""Acknowledgement rules (docs/semantics.md §8): normal vs sticky, removal, expiry."""

from __future__ import annotations

from augenmass.core.values import CheckState


def removed_by_result(old: CheckState, new_state: int) -> bool:
    """Whether a result moving `old` to `new_state` ends its ack.

    A normal ack goes on any state change (problem→problem too); a sticky one only when the
    object is OK/UP again.
    """
    ack = old.acknowledgement
    if ack is None or new_state == old.state:
        return False
    if not old.checked and new_state != 0:
        # An ack on a never-checked state was restored from the sidecar after the store was
        # lost: its problem is still there, so it stays.
        return False
    return new_state == 0 or not ack.sticky


def expired(state: CheckState, now: float) -> bool:
    ack = state.acknowledgement
    return ack is not None and ack.expires_at is not None and now >= ack.expires_at


def ack_data(state: CheckState) -> dict[str, object]:
    ack = state.acknowledgement
    if ack is None:
        return {}
    return {
        "author": ack.author,
        "comment": ack.comment,
        "sticky": ack.sticky,
        "notify": ack.notify,
        "expires_at": ack.expires_at,
    }
