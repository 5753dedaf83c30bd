/*
 * eim_device_fleet.h - the networked half of `eim-device`: creating a
 * fleet of simulated devices and running them against an eIM.
 *
 *   eim-device fleet --dir DIR --count N --pki PKIDIR --air AIR.der ...
 *       creates N simulated eUICCs (state files DIR/<EID>.json, mode 0600,
 *       bootstrapped from the AddInitialEimRequest that `eim
 *       export-initial-eim --out AIR.der` wrote), their certificates, the
 *       fleet manifest DIR/fleet.json (EID, state file, PSK identity and
 *       key of each device) and DIR/devices.csv for `eim device import`.
 *   eim-device run --fleet DIR --server ADDR:PORT [--wakes N] ...
 *       wakes every device N times, each wake from a new UDP source port
 *       (a NAT rebinding while it slept): with a Connection ID the DTLS
 *       session continues, without one a new handshake is made; both are
 *       counted. Each wake polls until noEimPackageAvailable, runs the
 *       packages on the eUICC and reports the results; state files are
 *       saved after every wake, so a later run (a "reboot") keeps the
 *       eUICC's counters and eIM list.
 */
#ifndef EIM_DEVICE_FLEET_H
#define EIM_DEVICE_FLEET_H

int eim_device_cmd_fleet(int argc, char **argv);
int eim_device_cmd_run(int argc, char **argv);

extern const char eim_device_fleet_usage[];
extern const char eim_device_run_usage[];

#endif
