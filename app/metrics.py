"""What an operator watches, as Prometheus metrics (served at `/metrics` by app.http.metrics).

One `Metrics` object per application, with its own registry (so tests and several apps in one process
never share counters). It is told of each HTTP request (the middleware), of each metered request as it
ends (the gateway's observers: tokens, stage timings, time to first token, credits, safety decisions,
abstentions, queue wait), and of each ingest job (the jobs' hooks); the queue depth, the engine replicas
and the canary's versions are read when Prometheus scrapes. docs/operations.md lists every metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.gateway.usage import Settled
from generation.engines.canary import CanaryEngine
from generation.engines.pool import EnginePool
from ingest.jobs import Job, JobFile, JobHooks
from ingest.pipeline import FileOutcome

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)
RATE_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 35.0, 50.0, 75.0, 100.0, 150.0, 250.0)


class Metrics:
    """Verity's Prometheus metrics in their own registry; see the module's docstring."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.http_requests = Counter(
            "verity_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "verity_http_request_seconds",
            "HTTP request duration to the last byte",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "verity_requests",
            "metered requests as they ended, by endpoint, model and status",
            ["endpoint", "model", "status"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "verity_stage_seconds",
            "time spent in each stage of a request",
            ["endpoint", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_token = Histogram(
            "verity_first_token_seconds",
            "time to the first token of an answer",
            ["endpoint", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.token_rate = Histogram(
            "verity_tokens_per_second",
            "completion tokens per second of generation",
            ["model"],
            buckets=RATE_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("verity_tokens", "tokens used", ["model", "kind"], registry=r)
        self.credits = Counter("verity_credits_spent", "credits charged", ["model"], registry=r)
        self.queue_wait = Histogram(
            "verity_queue_wait_seconds", "wait for a turn at the engine", buckets=LATENCY_BUCKETS, registry=r
        )
        self.safety = Counter(
            "verity_safety_decisions",
            "safety checks by stage, category and outcome",
            ["stage", "category", "decision", "action"],
            registry=r,
        )
        self.abstentions = Counter("verity_abstentions", "answers Verity declined", ["endpoint"], registry=r)
        self.ingest_jobs = Counter(
            "verity_ingest_jobs", "ingest jobs finished, by state", ["state"], registry=r
        )
        self.ingest_files = Counter(
            "verity_ingest_files", "files ingested, by outcome", ["outcome"], registry=r
        )
        self.ingest_chunks = Counter("verity_ingest_chunks", "chunks written by ingest jobs", registry=r)

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request."""
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_seconds.labels(route, method).observe(seconds)

    def observe_settled(self, s: Settled) -> None:
        """Count a metered request as it ended (a gateway observer)."""
        self.requests.labels(s.endpoint, s.model, str(s.status)).inc()
        self.tokens.labels(s.model, "prompt").inc(s.tokens_in)
        self.tokens.labels(s.model, "completion").inc(s.tokens_out)
        self.credits.labels(s.model).inc(s.credits)
        for stage, ms in s.timings_ms.items():
            self.stage_seconds.labels(s.endpoint, stage).observe(ms / 1000)
        if "first_token" in s.timings_ms:
            self.first_token.labels(s.endpoint, s.model).observe(s.timings_ms["first_token"] / 1000)
        streaming_ms = s.timings_ms.get("generate", 0.0) - s.timings_ms.get("first_token", 0.0)
        if s.tokens_out > 1 and streaming_ms > 0:
            self.token_rate.labels(s.model).observe((s.tokens_out - 1) / (streaming_ms / 1000))
        if s.queue_wait_s is not None:
            self.queue_wait.observe(s.queue_wait_s)
        for stage, category, decision, action in s.safety:
            self.safety.labels(stage, category, decision, action).inc()
        if s.abstained:
            self.abstentions.labels(s.endpoint).inc()

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Report the engine queue's depth when scraped."""
        gauge = Gauge("verity_queue_depth", "requests waiting for the engine", registry=self.registry)
        gauge.set_function(lambda: float(depth()))

    def watch_engines(self, pools: Sequence[tuple[str, EnginePool]], canary: CanaryEngine | None) -> None:
        """Report the replicas' health and load, and the canary's versions, when scraped."""
        self.registry.register(_EngineCollector(pools, canary))

    def job_hooks(self, hooks: JobHooks) -> JobHooks:
        """`hooks`, counting each file and job in these metrics first."""

        def after_file(job: Job, file: JobFile, outcome: FileOutcome) -> None:
            self.ingest_files.labels("failed" if outcome.error is not None else outcome.status).inc()
            if hooks.after_file is not None:
                hooks.after_file(job, file, outcome)

        def after_job(job: Job, files: Sequence[JobFile]) -> None:
            self.ingest_jobs.labels(job.state).inc()
            self.ingest_chunks.inc(job.chunks_done)
            if hooks.after_job is not None:
                hooks.after_job(job, files)

        return replace(hooks, after_file=after_file, after_job=after_job)


class _EngineCollector(Collector):
    """Replica health, breaker, load and outcomes; canary versions' share and outcomes."""

    def __init__(self, pools: Sequence[tuple[str, EnginePool]], canary: CanaryEngine | None) -> None:
        self._pools, self._canary = list(pools), canary

    def collect(self) -> Iterator[Metric]:
        labels = ["pool", "replica"]
        up = GaugeMetricFamily(
            "verity_engine_replica_up", "1 when the replica's health check passes", labels=labels
        )
        drained = GaugeMetricFamily("verity_engine_replica_drained", "1 while drained", labels=labels)
        broken = GaugeMetricFamily(
            "verity_engine_replica_breaker_open", "1 while its breaker is open or half-open", labels=labels
        )
        busy = GaugeMetricFamily("verity_engine_replica_in_flight", "requests it runs now", labels=labels)
        done = CounterMetricFamily(
            "verity_engine_replica_requests", "requests it finished, by outcome", labels=[*labels, "outcome"]
        )
        for name, pool in self._pools:
            for r in pool.status():
                up.add_metric([name, r.url], float(r.healthy))
                drained.add_metric([name, r.url], float(r.drained))
                broken.add_metric([name, r.url], float(r.breaker != "closed"))
                busy.add_metric([name, r.url], float(r.in_flight))
                done.add_metric([name, r.url, "ok"], float(r.served))
                done.add_metric([name, r.url, "failed"], float(r.failed))
        yield from (up, drained, broken, busy, done)
        if self._canary is not None:
            yield from _canary_families(self._canary)


def _canary_families(canary: CanaryEngine) -> Iterator[Metric]:
    labels = ["version", "model"]
    share = GaugeMetricFamily("verity_canary_share", "share of traffic each version takes", labels=labels)
    requests = CounterMetricFamily("verity_canary_requests", "requests per version", labels=labels)
    errors = CounterMetricFamily("verity_canary_errors", "failed requests per version", labels=labels)
    p95 = GaugeMetricFamily("verity_canary_first_token_p95_seconds", "p95 time to first token", labels=labels)
    for v in canary.versions():
        share.add_metric([v.version, v.model], v.share)
        requests.add_metric([v.version, v.model], float(v.requests))
        errors.add_metric([v.version, v.model], float(v.errors))
        if v.first_token_p95_s is not None:
            p95.add_metric([v.version, v.model], v.first_token_p95_s)
    yield from (share, requests, errors, p95)
