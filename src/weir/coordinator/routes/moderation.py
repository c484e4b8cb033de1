"""Routes: moderation."""

from fastapi import APIRouter

router = APIRouter()
