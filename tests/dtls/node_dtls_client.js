// node_dtls_client.js - lab program for the interop tests: node-dtls-client
// (a TypeScript DTLS 1.2 client nobody on this project wrote; its
// ClientHello carries no extensions at all) completes a PSK handshake with
// one forced suite, sends one message and prints what comes back.
//
// usage: node node_dtls_client.js PORT IDENTITY KEYTEXT SUITE MESSAGE
//   SUITE: an IANA name, e.g. TLS_PSK_WITH_AES_128_CCM_8. Prints
//   "echo TEXT" and exits 0 on an echo, 1 on an error or after 10 s.
// A MESSAGE "hex:HEX" sends those bytes instead (a CoAP request for
// `eim serve`), prints the answer as "reply HEX" and exits 0 on any answer:
// tests/interop checks what it says.
// The package is found through NODE_PATH (scripts/setup.sh installs it).
"use strict";
const { dtls } = require("node-dtls-client");

const [port, identity, key, suite, message] = process.argv.slice(2);
const psk = {};
psk[identity] = key;
const timer = setTimeout(() => {
	console.log("error timeout");
	process.exit(1);
}, 10000);
const socket = dtls.createSocket({
	type: "udp4",
	address: "127.0.0.1",
	port: Number(port),
	psk: psk,
	timeout: 1000,
	ciphers: [suite],
});
const binary = message.startsWith("hex:");
const data = binary ? Buffer.from(message.slice(4), "hex")
	: Buffer.from(message);
socket.on("connected", () => socket.send(data));
socket.on("message", (msg) => {
	clearTimeout(timer);
	socket.close();
	if (binary) {
		console.log("reply " + msg.toString("hex"));
		process.exit(0);
	}
	console.log("echo " + msg.toString());
	process.exit(msg.toString() === message ? 0 : 1);
});
socket.on("error", (e) => {
	console.log("error " + e);
	clearTimeout(timer);
	process.exit(1);
});
