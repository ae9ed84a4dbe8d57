#!/usr/bin/env python3
"""A TCP relay on loopback that can make a MySQL binlog connection silent without closing it.

    pause_relay.py PORTFILE UPSTREAM_PORT LOGFILE

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and forwards every
connection to 127.0.0.1:UPSTREAM_PORT. A connection whose client sends COM_BINLOG_DUMP
(command byte 0x12) or COM_BINLOG_DUMP_GTID (0x1e) as a command packet (sequence id 0) is a
binlog connection.

SIGUSR1 freezes the binlog connections open at that moment: from then on nothing is forwarded
on them in either direction (what arrives is held), and nothing is closed, so the client sees
a live TCP connection that has gone silent. Connections made later are forwarded normally.

LOGFILE gets one line per event: "open N", "binlog N", "frozen N...", "close N".
"""
import os
import signal
import socket
import sys
import threading
import time

portfile, upstream, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
conns = {}  # id -> {"binlog": bool, "frozen": bool}
log_f = open(logfile, "a", buffering=1)


def log(msg):
    with lock:
        log_f.write(msg + "\n")


def freeze(_sig, _frame):
    with lock:
        ids = [i for i, c in conns.items() if c["binlog"]]
        for i in ids:
            conns[i]["frozen"] = True
        log_f.write("frozen " + " ".join(map(str, ids)) + "\n")


def pump(cid, src, dst, from_client):
    st = conns[cid]
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if from_client and len(data) >= 5 and data[3] == 0 and data[4] in (0x12, 0x1E) and not st["binlog"]:
                st["binlog"] = True
                log("binlog %d" % cid)
            while st["frozen"]:
                time.sleep(0.05)  # hold the data: the connection is silent, not closed
            dst.sendall(data)
    except OSError:
        pass
    if st["frozen"]:
        while True:  # never close a frozen connection
            time.sleep(3600)
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    with lock:
        if conns.pop(cid, None) is not None:
            log_f.write("close %d\n" % cid)


def main():
    signal.signal(signal.SIGUSR1, freeze)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, portfile)
    n = 0
    while True:
        try:
            client, _ = ls.accept()
        except InterruptedError:
            continue
        try:
            server = socket.create_connection(("127.0.0.1", upstream))
        except OSError:
            client.close()
            continue
        n += 1
        with lock:
            conns[n] = {"binlog": False, "frozen": False}
            log_f.write("open %d\n" % n)
        threading.Thread(target=pump, args=(n, client, server, True), daemon=True).start()
        threading.Thread(target=pump, args=(n, server, client, False), daemon=True).start()


main()
