"""The ROS 2 wire layer: what a ROS 2 robot puts on Zenoh, as pure data.

Interface definitions per distro (:mod:`.interfaces`), CDR payloads (:mod:`.cdr`), RIHS01
type hashes (:mod:`.hashes`), key expressions and liveliness tokens for rmw_zenoh and
zenoh-bridge-ros2dds (:mod:`.keys`) and rmw_zenoh's sample attachment (:mod:`.attachment`).
No Zenoh import and no I/O here: the link that talks to robots builds on these. The wire
facts and their sources are collected in docs (ros2-over-zenoh reference) and cited in each
module.
"""
