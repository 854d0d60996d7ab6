"""Visual Practice sandbox: the REST API emulator, its store and the synthetic practice generator."""
