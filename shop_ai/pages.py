"""Plain pages of the project: the home page and JSON-aware error handlers."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "detail": f"No API endpoint at {request.path}."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "server_error", "detail": "Something went wrong on our side; it is logged. "
                                                               "Retry with the same event ids."}, status=500)
    return render(request, "500.html", status=500)
