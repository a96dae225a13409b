"""Put the wheel's ``etc/nova/api-paste.ini`` where Nova's functional tests look
for it (``<site-packages>/etc/nova/``); pip installs the wheel's data files
under the environment's prefix."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

source = Path(sys.prefix) / "etc" / "nova" / "api-paste.ini"
target = Path(sysconfig.get_paths()["purelib"]) / "etc" / "nova" / "api-paste.ini"
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(source, target)
print(f"copied {source} to {target}")
