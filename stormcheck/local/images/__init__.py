"""Building the catalogue's images, tagged by a hash of everything that goes into them.

One module per concept:

- :mod:`~stormcheck.local.images.hashing`: the content hash that tags each image;
- :mod:`~stormcheck.local.images.base`: the image mode, the Debian mirror and the debootstrap base;
- :mod:`~stormcheck.local.images.staging`: wheels, a role's venv and Maven jars staged on the host;
- :mod:`~stormcheck.local.images.build`: plans (present or not) and builds.
"""

from __future__ import annotations

from stormcheck.local.images.base import MANAGED_LABEL, debian_mirror, detect_mode, ensure_base
from stormcheck.local.images.build import (
    BuildResult,
    ImagePlan,
    build_images,
    plan_images,
    remove_project_images,
)
from stormcheck.local.images.hashing import HASH_VERSION, base_tag, context_files, role_hash
from stormcheck.local.images.staging import find_python, maven_jars, role_venv, wheelhouse

__all__ = [
    "HASH_VERSION",
    "MANAGED_LABEL",
    "BuildResult",
    "ImagePlan",
    "base_tag",
    "build_images",
    "context_files",
    "debian_mirror",
    "detect_mode",
    "ensure_base",
    "find_python",
    "maven_jars",
    "plan_images",
    "remove_project_images",
    "role_hash",
    "role_venv",
    "wheelhouse",
]
