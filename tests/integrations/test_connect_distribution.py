"""shop-ai-connect, the light distribution a store installs: it builds, holds only the client and
the Oscar app, depends on requests alone (Oscar as an extra), and its client imports without
Django or shop-ai's machine-learning stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_connect_wheel_holds_the_client_and_the_oscar_app_and_needs_only_requests(tmp_path):
    # Built from a copy: setuptools builds in the source tree and would leave build/ behind.
    source = shutil.copytree(ROOT / "connect", tmp_path / "source",
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                            "--no-build-isolation", "--wheel-dir", str(tmp_path), "--quiet"],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("shop_ai_connect-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    code = [name for name in names if ".dist-info/" not in name]
    assert {"shop_ai_connect/client/client.py", "shop_ai_connect/client/signing.py",
            "shop_ai_connect/oscar/apps.py", "shop_ai_connect/oscar/templatetags/shop_ai.py"} <= set(code)
    assert all(name.startswith("shop_ai_connect/") for name in code), code
    requires = sorted(line.split(":", 1)[1].strip() for line in metadata.splitlines()
                      if line.startswith("Requires-Dist:"))
    assert requires == ['django-oscar>=4.2; extra == "oscar"', "requests>=2.28"]


def test_the_client_imports_without_django_or_the_model_stack():
    probe = ("import sys, shop_ai_connect.client as c; c.ShopAIClient; "
             "heavy = sorted({'django', 'torch', 'diffusers', 'sklearn', 'numpy'} & set(sys.modules)); "
             "print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "connect", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
