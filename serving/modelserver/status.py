"""Model version status as TF Serving's ModelVersionStatus proto."""

from __future__ import annotations

from protocol.messages import get_model_status_pb2
from serving.modelserver.manager import VersionStatus


def status_response(statuses: list[VersionStatus]) -> get_model_status_pb2.GetModelStatusResponse:
    return get_model_status_pb2.GetModelStatusResponse(
        model_version_status=[version_status_proto(status) for status in statuses]
    )


def version_status_proto(status: VersionStatus) -> get_model_status_pb2.ModelVersionStatus:
    proto = get_model_status_pb2.ModelVersionStatus(version=status.version, state=int(status.state))
    proto.status.SetInParent()
    if status.error is not None:
        proto.status.error_code = status.error.code.value[0]
        proto.status.error_message = str(status.error)
    return proto
