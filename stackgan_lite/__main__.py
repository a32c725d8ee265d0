from stackgan_lite.cli import main

raise SystemExit(main())
