"""vhu-qtest: a qtest-protocol guest driver for QEMU vhost-user front-ends."""
