"""Save a document with an open password through LibreOffice's UNO API (run by Debian's
/usr/bin/python3, which has python3-uno): ``python3 uno_password.py SRC DST FILTER PASSWORD PROFILE``.

The soffice command line cannot set a password for Word or ODF output, so tests/files.py
``make_encrypted`` uses this to write a really encrypted .doc/.wps/.odt.
"""

import os
import subprocess
import sys
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(src, dst, filter_name, password, profile):
    pipe = f"policyqa_password_{os.getpid()}"
    office = subprocess.Popen(
        [
            "soffice",
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation=file://{profile}",
            f"--accept=pipe,name={pipe};urp;",
        ]
    )
    ctx = uno.getComponentContext()
    resolver = ctx.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", ctx
    )
    for _ in range(240):
        try:
            remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            time.sleep(0.25)
    else:
        office.kill()
        raise SystemExit("LibreOffice did not start")
    desktop = remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
    doc = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(src), "_blank", 0, (prop("Hidden", True),)
    )
    doc.storeToURL(
        uno.systemPathToFileUrl(dst), (prop("FilterName", filter_name), prop("Password", password))
    )
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:  # the bridge closes as soffice exits
        pass
    office.wait(timeout=60)


if __name__ == "__main__":
    main(*sys.argv[1:6])
