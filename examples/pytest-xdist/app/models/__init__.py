"""All models.  Importing this package registers every table on Base.metadata."""
from .base import Base, metadata  # noqa: F401
from .accounts import *  # noqa: F401,F403
from .catalog import *  # noqa: F401,F403
from .inventory import *  # noqa: F401,F403
from .orders import *  # noqa: F401,F403
from .support import *  # noqa: F401,F403
