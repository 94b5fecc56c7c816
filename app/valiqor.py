"""Valiqor-compatible failure-analysis routes: /v2/failure-analysis/... (see docs/api-contract.md §1).

A thin skin: handlers resolve the tenant, call the submission and store, and project results onto the
Valiqor wire shapes (snake_case, `detail` errors, list endpoints wrapped in a named key).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from app import views
from app.auth import caller_of, resolve_tenant
from app.services import Services
from workers.contract import AnalyzeRequest, RunRecord, RunResult
from workers.credits import CreditStore
from workers.direct_lane import reap_if_orphaned
from workers.inline_lane import InlineCall
from workers.submission import submit_run
from workers.traces import trace_dataset_item
from workers.webhooks.notify import notify_finished

PREFIX = "/v2/failure-analysis"


def prefers_async(request: Request[Any, Any, Any]) -> bool:
    """RFC 7240 `Prefer: respond-async`: the client wants the 202 job envelope even for a run that is done."""
    return any(part.strip().lower() == "respond-async" for part in request.headers.get("prefer", "").split(","))


async def _record(svc: Services, tenant: str, run_id: str) -> RunRecord:
    record = await svc.store.get_record(tenant, run_id)
    if record is None:
        raise NotFoundException(f"run {run_id!r} not found")
    return await reap_if_orphaned(svc.store, record, svc.settings)


class FailureAnalysisController(Controller):
    path = PREFIX
    tags = ["valiqor failure analysis"]

    @post(
        "/analyze",
        status_code=202,
        operation_id="faAnalyze",
        responses={
            200: ResponseSpec(
                data_container=RunResult,
                generate_examples=False,
                description="A small rule_based run, analysed inside the request: the complete FARunResult",
            )
        },
    )
    async def analyze(
        self, request: Request[Any, Any, Any], data: AnalyzeRequest, svc: Services
    ) -> Response[dict[str, Any]]:
        """Submit a dataset for failure analysis.

        A small rule_based run (INLINE_MAX_ITEMS, INLINE_MAX_BYTES) is analysed inside the request and answered
        200 with the complete result, as the Valiqor API documents; `Prefer: respond-async` asks for the 202 job
        envelope instead. Any other run answers 202 with job_id (= run_id) and a poll URL.
        """
        tenant = resolve_tenant(request, svc.settings)
        mode, input_type = "minimal", "json"
        if data.dataset is None and data.trace_id is not None:  # analyse a stored trace
            trace = await svc.traces.get(tenant, data.trace_id)
            if trace is not None:
                data = msgspec.structs.replace(data, dataset=[trace_dataset_item(trace)])
                mode, input_type = "full", "trace"
        inline = InlineCall(svc.inline)
        record = await submit_run(
            data,
            tenant=tenant,
            store=svc.store,
            catalogue=svc.catalogue,
            settings=svc.settings,
            request_id=request.scope.get("state", {}).get("request_id"),
            start_direct=svc.lane.start,
            run_inline=inline.run,
            mode=mode,
            input_type=input_type,
            allowed_tiers=caller_of(request).tiers,
        )
        if inline.result_json is not None and not prefers_async(request):
            return Response(inline.result_json, status_code=200, media_type=MediaType.JSON)  # type: ignore[arg-type]
        return Response(
            {
                "job_id": record.run_id,
                "run_id": record.run_id,
                "job_type": "failure_analysis",
                "status": record.status,
                "total_items": record.total_items,
                "poll_url": f"{PREFIX}/runs/{record.run_id}/status",
                "result_url": f"{PREFIX}/runs/{record.run_id}",
                "message": f"analysis of {record.total_items} item(s) {record.status}",
            },
            status_code=202,
        )

    @get("/runs/{run_id:str}/status", operation_id="faRunStatus")
    async def status(self, request: Request[Any, Any, Any], run_id: str, svc: Services) -> dict[str, Any]:
        """Progress of a run: queued / processing / completed / failed / cancelled."""
        tenant = resolve_tenant(request, svc.settings)
        stored, done, workers = await svc.store.get_status(tenant, run_id)  # one round trip
        if stored is None:
            raise NotFoundException(f"run {run_id!r} not found")
        record = await reap_if_orphaned(svc.store, stored, svc.settings)
        return views.job_status(record, done_chunks=done if record.status == "processing" else 0, workers=workers)

    @get("/runs/{run_id:str}", operation_id="faGetRun", response_description="FARunResult")
    async def get_run(self, request: Request[Any, Any, Any], run_id: str, svc: Services) -> Response[Any]:
        """The full result of a run (status "processing" with empty lists until it completes)."""
        tenant = resolve_tenant(request, svc.settings)
        record = await _record(svc, tenant, run_id)
        body = await svc.store.result_json(tenant, run_id, record.n_chunks)
        if body is None:
            return Response(views.pending_result(record))
        return Response(body, media_type=MediaType.JSON)

    @get("/runs/{run_id:str}/inputs", operation_id="faGetRunInputs")
    async def get_inputs(self, request: Request[Any, Any, Any], run_id: str, svc: Services) -> dict[str, Any]:
        """The run's items with per-item counts (items of finished chunks while the run is processing)."""
        tenant = resolve_tenant(request, svc.settings)
        record = await _record(svc, tenant, run_id)
        inputs = await svc.store.load_inputs(tenant, run_id, record.n_chunks)
        return {"run_id": run_id, "inputs": inputs, "total": len(inputs)}

    @get("/runs/{run_id:str}/tags", operation_id="faGetRunTags")
    async def get_tags(
        self,
        request: Request[Any, Any, Any],
        run_id: str,
        svc: Services,
        decision: Annotated[str | None, Parameter(pattern="^(pass|fail|unsure)$")] = None,
        bucket_id: str | None = None,
        subcategory_id: str | None = None,
        min_severity: Annotated[float | None, Parameter(ge=0, le=5)] = None,
        item_index: Annotated[int | None, Parameter(ge=0)] = None,
    ) -> dict[str, Any]:
        """Tags of a run, filtered by decision, bucket, subcategory, minimum severity or item."""
        tenant = resolve_tenant(request, svc.settings)
        record = await _record(svc, tenant, run_id)
        tags = [
            tag
            for tag in await svc.store.load_tags(tenant, run_id, record.n_chunks)
            if (decision is None or tag.decision == decision)
            and (bucket_id is None or tag.bucket_id == bucket_id)
            and (subcategory_id is None or tag.subcategory_id == subcategory_id)
            and (min_severity is None or tag.severity >= min_severity)
            and (item_index is None or tag.item_index == item_index)
        ]
        return {"run_id": run_id, "tags": tags, "total": len(tags)}

    @post("/runs/{run_id:str}/cancel", status_code=200, operation_id="faCancelRun")
    async def cancel(self, request: Request[Any, Any, Any], run_id: str, svc: Services) -> dict[str, Any]:
        """Cancel a queued or processing run; chunks not yet analysed are skipped."""
        tenant = resolve_tenant(request, svc.settings)
        await _record(svc, tenant, run_id)
        updated = await svc.store.update_record(tenant, run_id, views.cancel_change)
        if updated is None:
            raise NotFoundException(f"run {run_id!r} not found")
        if updated.status != "cancelled":
            raise HTTPException(
                status_code=409, detail=f"run {run_id!r} is already {updated.status}; it cannot be cancelled"
            )
        await CreditStore(svc.store.redis).refund(tenant, run_id)
        await notify_finished(svc.store.redis, svc.settings, updated)
        return {"run_id": run_id, "job_id": run_id, "status": "cancelled", "message": "run cancelled"}

    @get("/runs", operation_id="faListRuns")
    async def list_runs(
        self,
        request: Request[Any, Any, Any],
        svc: Services,
        project_name: str | None = None,
        status: str | None = None,
        page: Annotated[int, Parameter(ge=1)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=200)] = 20,
    ) -> dict[str, Any]:
        """Runs of the caller's tenant, newest first, filtered by project and status, paged."""
        records = await svc.store.list_records(resolve_tenant(request, svc.settings))
        matching = [
            r
            for r in records
            if (project_name is None or r.project_name == project_name) and (status is None or r.status == status)
        ]
        start = (page - 1) * page_size
        items = [views.list_item(r) for r in matching[start : start + page_size]]
        return {
            "items": items,
            "total": len(matching),
            "page": page,
            "page_size": page_size,
            "has_more": start + page_size < len(matching),
        }

    @get("/runs/count", operation_id="faCountRuns")
    async def count_runs(
        self, request: Request[Any, Any, Any], svc: Services, project_name: str | None = None
    ) -> dict[str, int]:
        records = await svc.store.list_records(resolve_tenant(request, svc.settings))
        return {"count": sum(1 for r in records if project_name is None or r.project_name == project_name)}

    @get("/taxonomy", operation_id="faTaxonomy")
    async def taxonomy(self, request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
        """The failure taxonomy: 8 buckets with their subcategories."""
        resolve_tenant(request, svc.settings)
        return {
            "name": svc.catalogue.name,
            "version": svc.catalogue.version,
            "buckets": [views.bucket(b) for b in svc.catalogue.buckets],
            "security_categories": [
                {"category_id": c.id, "category_name": c.name} for c in svc.catalogue.security_categories
            ],
        }

    @get("/taxonomy/subcategories", operation_id="faSubcategories")
    async def subcategories(
        self,
        request: Request[Any, Any, Any],
        svc: Services,
        bucket_id: str | None = None,
        detection_approach: str | None = None,
        applies_to: str | None = None,
    ) -> dict[str, Any]:
        resolve_tenant(request, svc.settings)
        if bucket_id is not None and bucket_id not in svc.catalogue.bucket_by_id:
            raise NotFoundException(f"bucket {bucket_id!r} not found")
        subs = [
            views.subcategory(s)
            for s in svc.catalogue.subcategories.values()
            if (bucket_id is None or s.bucket_id == bucket_id)
            and (detection_approach is None or s.detection == detection_approach)
            and (applies_to is None or applies_to in s.applies_to)
        ]
        return {"subcategories": subs, "total": len(subs)}

    @get("/buckets/{bucket_id:str}", operation_id="faBucket")
    async def bucket(self, request: Request[Any, Any, Any], bucket_id: str, svc: Services) -> dict[str, Any]:
        resolve_tenant(request, svc.settings)
        found = svc.catalogue.bucket_by_id.get(bucket_id)
        if found is None:
            raise NotFoundException(f"bucket {bucket_id!r} not found")
        return views.bucket(found)

    @get("/projects", operation_id="faProjects")
    async def projects(self, request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
        return {"projects": await svc.store.projects(resolve_tenant(request, svc.settings))}
