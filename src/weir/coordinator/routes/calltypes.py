"""Routes: calltypes."""

from fastapi import APIRouter

router = APIRouter()
