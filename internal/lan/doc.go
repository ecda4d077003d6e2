// Package lan finds Synk servers on the local network with mDNS/DNS-SD
// (RFC 6762, 6763), through github.com/hashicorp/mdns: a server announces
// the service _synk._tcp, and devices list what answers (synk serve
// -mdns, synk discover).
package lan
