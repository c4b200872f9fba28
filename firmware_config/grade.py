"""A station's grade (等级): 2A to 5A. Its monthly service threshold and subsidy follow from it."""

from typing import Literal, get_args

Grade = Literal["2A", "3A", "4A", "5A"]
GRADES: tuple[str, ...] = get_args(Grade)
