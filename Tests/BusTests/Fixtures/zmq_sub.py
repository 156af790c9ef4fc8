#!/usr/bin/env python3
"""Plain pyzmq subscriber, as Bitcoin Core's contrib/zmq/zmq_sub.py reads notifications.

Usage: zmq_sub.py ENDPOINT TOPIC COUNT
Prints "ready" once subscribed, then one JSON object per message:
{"topic": ..., "body_hex": ..., "seq_hex": ..., "seq": <little-endian uint32>}.
"""
import json
import sys

import zmq


def main():
    endpoint, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = zmq.Context()
    sock = context.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 30000)  # hang guard only
    sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sock.connect(endpoint)
    print("ready", flush=True)
    for _ in range(count):
        frames = sock.recv_multipart()
        if len(frames) != 3:
            print(json.dumps({"error": "expected 3 frames, got %d" % len(frames)}), flush=True)
            sys.exit(2)
        topic_frame, body, seq = frames
        print(json.dumps({
            "topic": topic_frame.decode(),
            "body_hex": body.hex(),
            "seq_hex": seq.hex(),
            "seq": int.from_bytes(seq, "little"),
        }), flush=True)
    sock.close()
    context.term()


if __name__ == "__main__":
    main()
