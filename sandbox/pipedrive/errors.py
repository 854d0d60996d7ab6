"""Pipedrive's error answer, raised anywhere in a handler and rendered by the gate.

Every error has the documented envelope: {"success": false, "error", "error_info", "data": null,
"additional_data": null}, plus `code` where Pipedrive sends one (feature capping).
"""

from __future__ import annotations

from starlette.responses import JSONResponse

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."


class PipedriveError(Exception):
    def __init__(self, status: int, error: str, code: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"success": False, "error": self.error, "error_info": ERROR_INFO,
                                   "data": None, "additional_data": None}
        if self.code is not None:
            body["code"] = self.code
        return body

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), self.status, headers=headers)


def bad_request(error: str) -> PipedriveError:
    return PipedriveError(400, error)


def not_found(what: str) -> PipedriveError:
    return PipedriveError(404, f"{what} not found")
