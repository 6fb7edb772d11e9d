"""IEEE C37.118 on loopback from pypmu (PyPI `synchrophasor`, an independent
implementation of C37.118.2 frames, a PMU server and a PDC client): the PDC
asks for the header and configuration 2, turns transmission on, receives
data frames, and turns it off. Prints what the PDC received, as JSON.

pypmu 1.0.0a0 uses `collections.Sequence`, which Python 3.10 removed; the
alias below restores it for the library, whose code is otherwise unchanged.
"""
import collections
import collections.abc
import json
import logging
import os
import sys
import time

collections.Sequence = collections.abc.Sequence

from synchrophasor.pdc import Pdc  # noqa: E402
from synchrophasor.pmu import Pmu  # noqa: E402

logging.disable(logging.CRITICAL)
port = int(sys.argv[1])
pmu = Pmu(pmu_id=1410, data_rate=30, port=port, ip="127.0.0.1")
pmu.set_configuration()
pmu.set_header("Substation North, feeder 4 PMU")
pmu.run()
time.sleep(0.5)
pdc = Pdc(pdc_id=1410, pmu_ip="127.0.0.1", pmu_port=port)
pdc.run()
header = pdc.get_header()
config = pdc.get_config()
pdc.start()
received = 0
for _ in range(5):
    pmu.send(pmu.ieee_data_sample)
    if pdc.get() is not None:
        received += 1
pdc.stop()
time.sleep(0.3)
pdc.quit()
print(json.dumps({
    "station": config.get_station_name().strip(),
    "stream_id": config.get_id_code(),
    "data": received,
}))
sys.stdout.flush()
# The PMU serves each PDC from a forked process that polls its socket
# without pause: end each, or it spins on after this script.
for child in pmu.clients:
    child.terminate()
    child.join(2)
os._exit(0)
