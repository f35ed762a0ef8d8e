"""The Linux interface: system calls through libc and the kernel's numbers,
per architecture where they differ. No policy lives here."""
