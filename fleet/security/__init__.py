"""Securing the fleet: certificates (:mod:`.pki`), router access control (:mod:`.acl`) and
Zenoh TLS configurations (:mod:`.configs`). See docs/security.md."""
