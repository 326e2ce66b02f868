"""How a vision stage sends its images to endpoints (图片传送方式): the ``image_delivery``
key of the stage's task.

- ``"base64"`` (the default): each image travels in the request body as a ``data:`` URL, so
  a hidden test image is never at any address.
- ``"signed_url"``: each image is a link to the platform (``MOSU_SITE_URL``), signed and
  valid for 15 minutes (:mod:`mosu.evals.image_links`), for endpoints that limit the body
  size or fetch images themselves. The endpoint must reach the site's address.

The key is the platform's, not the engine's: :func:`mosu.race.perf_spec.engine_definition`
takes it out before the engine reads the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from mosu.core.settings import Settings
from mosu.evals.errors import ModelSpecError
from mosu.evals.image_links import ImageLinks
from mosu.evals.models.base import Model
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import SecretLookup, build_model
from mosu.evals.netpolicy import AddressPolicy
from mosu.race.errors import (
    UNKNOWN_IMAGE_DELIVERY,
)

IMAGE_DELIVERY_KEY = "image_delivery"
ImageDelivery = Literal["base64", "signed_url"]
DELIVERIES: tuple[ImageDelivery, ...] = ("base64", "signed_url")


def image_delivery(definition: Mapping[str, Any]) -> ImageDelivery:
    """The stage's way of sending images; :class:`Invalid` for an unknown one."""
    value = definition.get(IMAGE_DELIVERY_KEY, "base64")
    for known in DELIVERIES:
        if value == known:
            return known
    raise UNKNOWN_IMAGE_DELIVERY(value=value)


def delivered_model(
    spec: str,
    definition: Mapping[str, Any],
    *,
    settings: Settings | None,
    secrets: SecretLookup | None,
    policy: AddressPolicy,
) -> str | Model:
    """The entry's model as the stage sends to it: the spec as it is, or (an endpoint at a
    stage sending signed links) the endpoint's model built with the site's links.
    :class:`ModelSpecError` when the spec does not build or the worker knows no site."""
    if image_delivery(definition) != "signed_url" or not spec.startswith("openai:"):
        return spec
    if settings is None:
        raise ModelSpecError("图片链接需要站点地址 / signed image links need the site's address")
    model = build_model(spec, secrets=secrets, policy=policy)
    if isinstance(model, OpenAIChatModel):
        model.image_links = ImageLinks.for_site(settings.public_address, settings.secret_key)
    return model
