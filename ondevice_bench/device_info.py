"""Facts about the machine a measurement ran on: kept in `pocketbert.core.device_info` (evaluation of artifacts
writes results records too, and records from one machine must name it the same way); re-exported here."""
from pocketbert.core.device_info import cpu_model, host_device, load_average, package_version  # noqa: F401
