/*
 * eim_device_scenario.h - `eim-device scenario`: the device-lab scenario
 * runner (issue 8, "device-lab scenarios").
 *
 *   eim-device scenario FILE [--eim PATH] [--workdir DIR] [--keep] [--json]
 *
 * One scenario file (JSON, format in examples/scenarios/README.md) is run
 * from nothing: a temporary directory, a test PKI, `eim init` on a fresh
 * SQLite database, a fleet of simulated devices bootstrapped with the
 * AddInitialEimRequest of `eim export-initial-eim` and registered with
 * `eim device import`, and `eim serve` started on a free loopback port
 * (DTLS 1.2 with Connection ID). Then the steps run in order: `eim`
 * commands, device wakes (the in-process IPA of eim_sim_ipa.h), local
 * device actions (rollback, fallback, reboot, re-bootstrap, a replayed
 * package) and expectations on the eIM's results and on the simulated
 * eUICC's state. The run stops at the first failed step (later steps
 * depend on earlier ones). The server is stopped and a report printed.
 *
 * Exit codes: 0 every step passed; 1 a step failed, or the lab could not
 * be set up; 2 usage error or a bad scenario file (one line on stderr
 * naming the file, the step and the member).
 */
#ifndef EIM_DEVICE_SCENARIO_H
#define EIM_DEVICE_SCENARIO_H

/* The `scenario` row of eim-device's command table. */
int eim_device_cmd_scenario(int argc, char **argv);
extern const char eim_device_scenario_usage[];

#endif
