"""Models every resource shares."""

from pydantic import BaseModel


class Empty(BaseModel):
    """The answer of an action that returns nothing but its duration."""

    duration: str = ""
