"""Routes: calls."""

from fastapi import APIRouter

router = APIRouter()
