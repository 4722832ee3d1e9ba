#!/usr/bin/python3
"""profiler.py -- a profile builder written outside crmsync's C code, to
plug into `crmsync run` through pipeline.profiler.command.

It uses only what docs/wire-contracts.md and docs/sink-api.md promise:
consume the changes topic, dedupe by event id, map each event to a sink
bulk op (if_newer everywhere; changed-fields updates with merge_fields and
if_version = version - 1; whole records for create, undelete and every
event marked full_state / resolved_gap / resolved_move / resync / polled;
deletes as tombstones), POST the batch to /v1/profiles/_bulk, send the
side effects of what was applied, and commit offsets only after the sink
answered every op of the batch. Unreadable records go to <topic>.dlq.

Environment (set by crmsync run): CRMSYNC_BOOTSTRAP_SERVERS, CRMSYNC_TOPIC,
CRMSYNC_GROUP_ID, CRMSYNC_SINK_URL, CRMSYNC_KAFKA_CONFIG (a file of
librdkafka properties, key=value), CRMSYNC_READY_FILE (created once the
group assigned partitions: the run starts its workload then),
CRMSYNC_START_OFFSETS (where partitions without a commit start). Needs
python3-confluent-kafka (Debian).
SIGTERM / SIGINT: finish the batch in hand (bounded), commit, exit 0.
"""

import collections
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition

BATCH_MAX = 500           # ops per flush
LINGER_S = 0.05           # wait for more messages before a flush
HTTP_TIMEOUT_S = 5
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.1, 2.0
PARK_MAX_S = 10           # then send a partial update without if_version
DEDUPE_CAP = 1 << 20      # recent event ids remembered
DRAIN_S = 5               # last flush at shutdown
FULL_FLAGS = ("full_state", "resolved_gap", "resolved_move", "resync",
              "polled")
ENTITIES = ("account", "contact", "opportunity", "entitlement")

stop = False


T0 = time.monotonic()


def log(msg):
    print("byo-profiler: [%.3f] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


def on_signal(signum, _frame):
    global stop
    stop = True


def read_properties(path):
    """key=value lines; blank lines and # or ! comments skipped."""
    conf = {}
    if not path:
        return conf
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line[0] in "#!":
                continue
            if "=" not in line:
                raise ValueError("%s:%d: expected key=value" % (path, n))
            k, v = line.split("=", 1)
            conf[k.strip()] = v.strip()
    return conf


class BadEvent(Exception):
    pass


def map_event(value):
    """Kafka value -> (op dict, side effect kind or None). Raises BadEvent."""
    try:
        ev = json.loads(value)
    except (ValueError, TypeError) as e:
        raise BadEvent("invalid JSON: %s" % e)
    if not isinstance(ev, dict):
        raise BadEvent("value is not an object")
    for k in ("event_id", "entity", "record_id", "change_type"):
        if not isinstance(ev.get(k), str) or not ev[k]:
            raise BadEvent("missing %s" % k)
    if ev["entity"] not in ENTITIES:
        raise BadEvent("unknown entity %r" % ev["entity"])
    ver = ev.get("version")
    if not isinstance(ver, int) or isinstance(ver, bool) or \
            not 0 <= ver <= 0xFFFFFFFF:
        raise BadEvent("version is not an integer 0..4294967295")
    acct = ev.get("account_id")
    change = ev["change_type"]
    op = {"type": ev["entity"], "id": ev["record_id"], "version": ver,
          "event_id": ev["event_id"], "if_newer": True}
    if change == "delete":
        op["op"] = "delete"
        if isinstance(acct, str) and acct:
            op["account_id"] = acct
        return op, None
    if change == "gap":
        raise BadEvent("unresolved gap (fields null)")
    if change not in ("create", "update", "undelete"):
        raise BadEvent("unknown change_type %r" % change)
    fields = ev.get("fields")
    if not isinstance(fields, dict):
        raise BadEvent("fields is not an object for %s" % change)
    if not isinstance(acct, str) or not acct:
        raise BadEvent("account_id is empty")
    full = change != "update" or any(ev.get(f) is True for f in FULL_FLAGS)
    op.update({"op": "upsert", "account_id": acct, "fields": fields,
               "merge_fields": not full})
    if not full and ver > 0:
        # Changed fields are right only on top of the version before.
        op["if_version"] = ver - 1
    fx = None
    if change == "create" and ev["entity"] == "contact":
        fx = "welcome_email"
    elif change in ("create", "update") and ev["entity"] == "entitlement":
        fx = "entitlement_notice"
    return op, fx


class Dedupe:
    """Bounded set of recent event ids (oldest forgotten first)."""

    def __init__(self, cap):
        self.cap = cap
        self.ids = collections.OrderedDict()

    def add(self, eid):
        if eid in self.ids:
            return False
        self.ids[eid] = None
        if len(self.ids) > self.cap:
            self.ids.popitem(last=False)
        return True

    def forget(self, eid):
        self.ids.pop(eid, None)


class Entry:
    __slots__ = ("op", "fx", "partition", "offset", "done", "parked_since")

    def __init__(self, op, fx, partition, offset):
        self.op, self.fx = op, fx
        self.partition, self.offset = partition, offset
        self.done = False
        self.parked_since = None  # set while the sink answers 409 gap


class Profiler:
    def __init__(self):
        env = os.environ
        self.topic = env.get("CRMSYNC_TOPIC", "crm.changes")
        self.sink = env["CRMSYNC_SINK_URL"].rstrip("/")
        props = read_properties(env.get("CRMSYNC_KAFKA_CONFIG"))
        base = dict(props)
        base["bootstrap.servers"] = env["CRMSYNC_BOOTSTRAP_SERVERS"]
        # Consumer defaults the properties file may override (as the
        # reference profiler): a short fetch wait (the embedded mock
        # cluster does not wake a waiting fetch), and a short session so
        # that a restarted profiler gets its partitions back in seconds
        # instead of waiting 45 s for its dead predecessor.
        cons = {"fetch.wait.max.ms": 50, "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000}
        cons.update(base)
        cons.update({"group.id": env["CRMSYNC_GROUP_ID"],
                     "enable.auto.commit": False,
                     "enable.auto.offset.store": False,
                     "auto.offset.reset": "earliest",
                     "client.id": "crmsync-byo-profiler",
                     "error_cb": self.on_error})
        self.consumer = Consumer(cons)
        prod = dict(base)
        prod.update({"client.id": "crmsync-byo-profiler-dlq",
                     "enable.idempotence": True, "acks": "all",
                     "error_cb": self.on_error})
        self.dlq = Producer(prod)
        self.dedupe = Dedupe(DEDUPE_CAP)
        self.ents = []        # ops not yet final, in arrival order
        self.next_off = {}    # partition -> offset after the last read
        self.nmsgs = 0        # messages since the last flush
        self.deadline = None  # drain deadline at shutdown
        self.st = collections.Counter()
        self.last_stats = time.monotonic()

    # -- helpers ---------------------------------------------------------

    def on_error(self, err):
        log("kafka: %s" % err)

    def quitting(self):
        if self.deadline is not None:
            return time.monotonic() >= self.deadline
        return stop

    def nap(self, s):
        """Sleep s seconds in slices; True when giving up."""
        end = time.monotonic() + s
        while not self.quitting():
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.05))
        return True

    def post(self, path, body, ctype):
        """POST until a 200 (backoff; Retry-After honoured). Returns the
        decoded JSON answer, or None when giving up."""
        attempt, last_log = 0, 0.0
        while True:
            req = urllib.request.Request(self.sink + path, data=body,
                                         method="POST",
                                         headers={"Content-Type": ctype})
            wait = min(BACKOFF_MAX_S, BACKOFF_MIN_S * (2 ** min(attempt, 5)))
            try:
                with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                why = "HTTP %d %s" % (e.code, e.read()[:200])
                ra = e.headers.get("Retry-After")
                if ra and ra.isdigit():
                    wait = min(30.0, float(ra))
            except (OSError, ValueError) as e:  # refused, reset, timeout
                why = str(e)
            now = time.monotonic()
            if now - last_log >= 1:
                log("POST %s: %s (retry %d)" % (path, why, attempt + 1))
                last_log = now
            attempt += 1
            self.st["retries"] += 1
            if self.nap(wait):
                return None

    def dead_letter(self, m, reason):
        for _ in range(100):
            try:
                self.dlq.produce(self.topic + ".dlq", value=m.value(),
                                 key=m.key(),
                                 headers=[("dlq_reason", reason.encode()),
                                          ("source_topic",
                                           self.topic.encode())])
                break
            except BufferError:
                self.dlq.poll(0.01)
        self.st["dlq"] += 1
        log("dead-lettered %s[%d]@%d: %s" % (m.topic(), m.partition(),
                                             m.offset(), reason))

    # -- batch -----------------------------------------------------------

    def handle(self, m):
        self.st["consumed"] += 1
        self.nmsgs += 1
        p, o = m.partition(), m.offset()
        if o + 1 > self.next_off.get(p, -1):
            self.next_off[p] = o + 1
        try:
            op, fx = map_event(m.value())
        except BadEvent as e:
            self.dead_letter(m, str(e))
            return
        if not self.dedupe.add(op["event_id"]):
            self.st["dup"] += 1
            return
        self.ents.append(Entry(op, fx, p, o))

    def pick_round(self):
        """Sendable ops, at most one per record (its lowest version), so
        that a request never holds two versions of one record."""
        best = {}
        for e in self.ents:
            if e.done or e.parked_since is not None:
                continue
            k = (e.op["type"], e.op["id"])
            if k not in best or e.op["version"] < best[k].op["version"]:
                best[k] = e
        return sorted(best.values(), key=lambda e: self.ents.index(e))

    def unpark(self, progress):
        """Parked ops get another try after progress; past PARK_MAX_S they
        go without if_version (their predecessor is lost upstream)."""
        n, now = 0, time.monotonic()
        for e in self.ents:
            if e.done or e.parked_since is None:
                continue
            if now - e.parked_since >= PARK_MAX_S:
                log("%s/%s v%d: v%d never came; applying without it" %
                    (e.op["type"], e.op["id"], e.op["version"],
                     e.op["version"] - 1))
                e.op.pop("if_version", None)
                self.st["forced"] += 1
            elif not progress:
                continue
            e.parked_since = None
            n += 1
        return n

    def flush(self):
        """Write the batch; commit what the sink answered. True when done
        (parked ops may carry over), False when giving up (stopping)."""
        fx, progress, fails = [], True, 0
        self.unpark(True)
        while True:
            rnd = self.pick_round()
            if not rnd:
                if progress and self.unpark(True):
                    progress = False
                    continue
                if self.unpark(False):
                    continue
                break
            body = "".join(json.dumps(e.op, separators=(",", ":")) + "\n"
                           for e in rnd).encode()
            ans = self.post("/v1/profiles/_bulk", body,
                            "application/x-ndjson")
            if ans is None:
                return False
            res = ans.get("results") if isinstance(ans, dict) else None
            if not isinstance(res, list) or len(res) != len(rnd):
                log("unreadable bulk reply: %.200s" % ans)
                res = [{}] * len(rnd)
            applied = left = 0
            for e, r in zip(rnd, res):
                st, what = r.get("status"), r.get("result")
                if st == 200:
                    e.done = True
                    applied += 1
                    self.st["applied"] += 1
                    if e.fx:
                        fx.append(e)
                elif st == 409 and what == "gap":
                    if e.parked_since is None:
                        e.parked_since = time.monotonic()
                        self.st["parked"] += 1
                elif st == 409:
                    e.done = True
                    self.st["stale"] += 1
                elif st in (400, 507) or (isinstance(st, int) and
                                          400 <= st < 500):
                    e.done = True
                    self.st["failed"] += 1
                    log("sink rejected %s: %s" % (e.op["event_id"], r))
                else:  # 500 or unreadable: retried
                    left += 1
            progress = progress or applied > 0
            if left:
                fails = 0 if applied else fails + 1
                self.st["retries"] += 1
                if self.nap(min(BACKOFF_MAX_S,
                                BACKOFF_MIN_S * (2 ** min(fails, 5)))):
                    return False
        for e in fx:
            if self.post("/v1/side-effects",
                         json.dumps({"event_id": e.op["event_id"],
                                     "kind": e.fx,
                                     "key": "%s/%s" % (e.op["type"],
                                                       e.op["id"])}).encode(),
                         "application/json") is None:
                return False
            self.st["side_effects"] += 1
        while len(self.dlq) > 0:
            if self.quitting():
                return False
            self.dlq.flush(0.1)
        self.commit()
        self.ents = [e for e in self.ents if not e.done]
        self.nmsgs = 0
        return True

    def commit(self):
        """Commit every partition read, but never past an op not yet
        written (a parked one)."""
        if not self.next_off:
            return
        offs = []
        for p, off in self.next_off.items():
            for e in self.ents:
                if not e.done and e.partition == p and e.offset < off:
                    off = e.offset
            offs.append(TopicPartition(self.topic, p, off))
        for attempt in range(3):
            try:
                self.consumer.commit(offsets=offs, asynchronous=False)
                self.st["committed"] += 1
                return
            except KafkaException as e:
                err = e.args[0]
                if err.code() == KafkaError._NO_OFFSET:
                    return
                log("commit failed: %s" % err)
                if self.nap(0.1):
                    return

    def drop(self, partitions):
        """Forget what we hold of these partitions (uncommitted: the next
        owner gets it again)."""
        ps = {tp.partition for tp in partitions}
        for e in self.ents:
            if e.partition in ps:
                self.dedupe.forget(e.op["event_id"])
        self.ents = [e for e in self.ents if e.partition not in ps]
        for p in ps:
            self.next_off.pop(p, None)

    def start_positions(self, consumer, partitions):
        """CRMSYNC_START_OFFSETS ("p:offset,...") is the changes topic's
        end as of the run's start. A partition without a committed offset in
        our group starts there, not at auto.offset.reset: on a shared
        cluster "earliest" would read earlier runs' records."""
        spec = os.environ.get("CRMSYNC_START_OFFSETS")
        if not spec or not partitions:
            return partitions
        start = {int(p): int(o)
                 for p, o in (x.split(":") for x in spec.split(","))}
        try:
            done = {c.partition: c.offset
                    for c in consumer.committed(partitions, timeout=10)}
        except KafkaException as e:
            log("committed offsets unknown (%s): starting at the run's "
                "start offsets" % e)
            done = {}
        for tp in partitions:
            s = start.get(tp.partition, -1)
            c = done.get(tp.partition, -1)
            if c >= 0:
                tp.offset = max(c, s)
            elif s >= 0:
                tp.offset = s
        return partitions

    def on_assign(self, consumer, partitions):
        log("assigned %d partition(s)" % len(partitions))
        consumer.assign(self.start_positions(consumer, partitions))
        # Tell crmsync run we hold partitions: it starts the workload then.
        ready = os.environ.get("CRMSYNC_READY_FILE")
        if ready and partitions and not os.path.exists(ready):
            with open(ready, "w", encoding="utf-8") as f:
                f.write("%d\n" % os.getpid())

    def on_revoke(self, consumer, partitions):
        log("revoked %d partition(s): flushing the batch" % len(partitions))
        if not self.flush():
            self.drop(self.consumer.assignment())
            return
        self.drop(partitions)

    # -- main loop -------------------------------------------------------

    def stats(self, force=False):
        now = time.monotonic()
        if force or now - self.last_stats >= 5:
            log("stats " + (" ".join("%s=%d" % kv
                                     for kv in sorted(self.st.items()))
                            or "idle"))
            self.last_stats = now

    def run(self):
        self.consumer.subscribe([self.topic], on_assign=self.on_assign,
                                on_revoke=self.on_revoke)
        log("consuming %s as group %s, writing to %s" %
            (self.topic, os.environ["CRMSYNC_GROUP_ID"], self.sink))
        first = None
        while not stop:
            msgs = self.consumer.consume(num_messages=BATCH_MAX,
                                         timeout=LINGER_S)
            for m in msgs:
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        log("consume: %s" % m.error())
                    continue
                if first is None:
                    first = time.monotonic()
                self.handle(m)
            self.dlq.poll(0)
            pending = sum(1 for e in self.ents if not e.done)
            if self.nmsgs and (pending >= BATCH_MAX or not msgs or
                               time.monotonic() - first >= LINGER_S):
                self.flush()
                first = None
            elif pending and not self.nmsgs:
                self.flush()  # parked ops only: retry or force them
            self.stats()
        self.deadline = time.monotonic() + DRAIN_S
        if self.nmsgs or self.ents:
            self.flush()
        self.stats(force=True)
        self.consumer.close()
        self.dlq.flush(1)
        log("stopped")


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for k in ("CRMSYNC_BOOTSTRAP_SERVERS", "CRMSYNC_SINK_URL",
              "CRMSYNC_GROUP_ID"):
        if not os.environ.get(k):
            log("%s is not set (run me from crmsync run)" % k)
            return 2
    try:
        Profiler().run()
    except (KafkaException, ValueError, OSError) as e:
        log("fatal: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
