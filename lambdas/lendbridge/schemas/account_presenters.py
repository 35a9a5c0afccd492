"""How the accounts routes show a user and the tokens they are issued (the loans and lender
routes' presenters are in ``lendbridge.schemas.presenters``)."""

from __future__ import annotations

from lendbridge.domain.accounts import Tokens, UserProfile
from lendbridge.schemas.accounts import AccessTokenOut, MessageOut, ProfileOut, TokensOut, UserOut
from lendbridge.timestamps import iso


def user(profile: UserProfile) -> UserOut:
    return UserOut(user_id=profile.user_id, email=profile.email, full_name=profile.full_name)


def profile(shown: UserProfile) -> ProfileOut:
    return ProfileOut(
        user_id=shown.user_id, email=shown.email, full_name=shown.full_name, created_at=iso(shown.created_at)
    )


def tokens(issued: Tokens) -> TokensOut:
    return TokensOut(
        access_token=issued.access_token,
        token_type=issued.token_type,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


def access_token(issued: Tokens) -> AccessTokenOut:
    return AccessTokenOut(access_token=issued.access_token, token_type=issued.token_type, expires_in=issued.expires_in)


def message(text: str) -> MessageOut:
    return MessageOut(message=text)
