import sys

from auditkit._cli import main

sys.exit(main())
