"""Fixed vocabularies the code itself relies on: staff roles (in rank order), intake channels, languages.

The config's allowed values and every check and list in the faces derive from these.
"""

from typing import Literal, get_args

ROLES = ("agent", "senior", "supervisor", "manager")
CHANNELS = ("phone", "web", "email", "chat", "fax", "letter")
# The languages customer messages and answers are written in (zh-CN first: the customers are Chinese-speaking).
Language = Literal["zh-CN", "zh-TW", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)
