"""English and Czech texts for every error, chosen by `Accept-Language`.

CareCloud's default header is `cs, en-gb;q=0.8`, so a request without the header gets Czech.
A header that names neither language falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

Lang = Literal["cs", "en"]
LANGS: tuple[Lang, ...] = ("cs", "en")
DEFAULT_ACCEPT_LANGUAGE = "cs, en-gb;q=0.8"

MESSAGES: dict[str, dict[Lang, str]] = {
    # titles and details of whole errors
    "bad_request.title": {"en": "Bad request", "cs": "Chybný požadavek"},
    "bad_request.detail": {
        "en": "One or more parameters are invalid.",
        "cs": "Jeden nebo více parametrů je neplatných.",
    },
    "unauthorized.title": {"en": "Unauthorized", "cs": "Neautorizovaný přístup"},
    "unauthorized.detail": {
        "en": "Invalid or missing credentials.",
        "cs": "Neplatné nebo chybějící přihlašovací údaje.",
    },
    "forbidden.title": {"en": "Forbidden", "cs": "Přístup odepřen"},
    "forbidden.detail": {
        "en": "Wrong login or password.",
        "cs": "Chybné přihlašovací jméno nebo heslo.",
    },
    "not_found.title": {"en": "Not found", "cs": "Nenalezeno"},
    "not_found.detail": {
        "en": 'Resource "{resource_name}" with ID "{resource_id}" was not found.',
        "cs": 'Záznam "{resource_name}" s ID "{resource_id}" nebyl nalezen.',
    },
    "route_not_found.detail": {
        "en": "The requested URL does not exist.",
        "cs": "Požadovaná adresa neexistuje.",
    },
    "method_not_allowed.title": {"en": "Method not allowed", "cs": "Metoda není povolena"},
    "method_not_allowed.detail": {
        "en": "The resource does not support the HTTP method {http_method}.",
        "cs": "Zdroj nepodporuje HTTP metodu {http_method}.",
    },
    "payload_too_large.title": {"en": "Payload too large", "cs": "Příliš velký požadavek"},
    "payload_too_large.detail": {
        "en": "The request body exceeds the limit of {limit} bytes.",
        "cs": "Tělo požadavku překračuje limit {limit} bajtů.",
    },
    "request_timeout.title": {"en": "Request timeout", "cs": "Vypršel čas požadavku"},
    "request_timeout.detail": {
        "en": "The request headers did not arrive within {limit} seconds.",
        "cs": "Hlavičky požadavku nedorazily do {limit} s.",
    },
    "unsupported_media_type.title": {
        "en": "Unsupported media type",
        "cs": "Nepodporovaný typ obsahu",
    },
    "unsupported_media_type.detail": {
        "en": 'The request body must be sent as "Content-Type: application/json", '
        'not "{content_type}".',
        "cs": 'Tělo požadavku musí být posláno jako "Content-Type: application/json", '
        'ne "{content_type}".',
    },
    "uri_too_long.title": {"en": "URI too long", "cs": "Příliš dlouhá adresa"},
    "uri_too_long.detail": {
        "en": "The request line exceeds the limit of {limit} bytes.",
        "cs": "Řádek požadavku překračuje limit {limit} bajtů.",
    },
    "headers_too_large.title": {
        "en": "Request header fields too large",
        "cs": "Příliš velké hlavičky požadavku",
    },
    "headers_too_large.detail": {
        "en": "The request headers exceed the limit of {limit} bytes.",
        "cs": "Hlavičky požadavku překračují limit {limit} bajtů.",
    },
    "malformed_request": {
        "en": "The request is not valid HTTP/1.1.",
        "cs": "Požadavek není platné HTTP/1.1.",
    },
    "too_many_requests.title": {"en": "Too many requests", "cs": "Příliš mnoho požadavků"},
    "too_many_requests.detail": {
        "en": "Too many failed login attempts. Retry after {retry_after} seconds.",
        "cs": "Příliš mnoho neúspěšných pokusů o přihlášení. Zkuste to znovu za {retry_after} s.",
    },
    "internal.title": {"en": "Internal server error", "cs": "Interní chyba serveru"},
    "internal.detail": {
        "en": "The server could not complete the request.",
        "cs": "Server nemohl požadavek dokončit.",
    },
    "unavailable.title": {"en": "Service unavailable", "cs": "Služba není dostupná"},
    "unavailable.detail": {
        "en": "The service is temporarily unavailable. Retry later.",
        "cs": "Služba je dočasně nedostupná. Zkuste to později.",
    },
    # messages of invalid_params entries
    "required": {"en": "The parameter is required.", "cs": "Parametr je povinný."},
    "empty": {"en": "The value must not be empty.", "cs": "Hodnota nesmí být prázdná."},
    "invalid_value_format": {
        "en": "The value has an invalid format.",
        "cs": "Hodnota má neplatný formát.",
    },
    "invalid_json": {
        "en": "The request body is not valid JSON (UTF-8).",
        "cs": "Tělo požadavku není platný JSON (UTF-8).",
    },
    "expected_object": {"en": "An object is expected.", "cs": "Očekává se objekt."},
    "expected_array": {"en": "An array is expected.", "cs": "Očekává se pole."},
    "expected_array_key": {
        "en": "An array item is sent as name=value, name[]=value or name[N]=value (N a whole number).",
        "cs": "Položka pole se posílá jako name=value, name[]=value nebo name[N]=value (N celé číslo).",
    },
    "expected_string": {"en": "A string is expected.", "cs": "Očekává se řetězec."},
    "expected_string_or_number": {
        "en": "A string or a number is expected.",
        "cs": "Očekává se řetězec nebo číslo.",
    },
    "expected_integer": {"en": "An integer is expected.", "cs": "Očekává se celé číslo."},
    "expected_boolean": {
        "en": "A boolean (true or false) is expected.",
        "cs": "Očekává se logická hodnota (true nebo false).",
    },
    "expected_datetime": {
        "en": "Expected format YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS.",
        "cs": "Očekávaný formát je YYYY-MM-DD HH:MM:SS nebo YYYY-MM-DDTHH:MM:SS.",
    },
    "expected_data": {
        "en": "Expected a string, an array of strings or an object.",
        "cs": "Očekává se řetězec, pole řetězců nebo objekt.",
    },
    "nul_character": {
        "en": "The value must not contain the NUL character.",
        "cs": "Hodnota nesmí obsahovat znak NUL.",
    },
    "too_long": {
        "en": "The value is longer than the limit of {limit}.",
        "cs": "Hodnota je delší než limit {limit}.",
    },
    "too_many_items": {
        "en": "At most {limit} items are allowed.",
        "cs": "Povoleno je nejvýše {limit} položek.",
    },
    "too_deep": {
        "en": "The value is nested deeper than {limit} levels.",
        "cs": "Hodnota je zanořená hlouběji než {limit} úrovní.",
    },
    "out_of_range": {
        "en": "The value must be between {minimum} and {maximum}.",
        "cs": "Hodnota musí být mezi {minimum} a {maximum}.",
    },
    "one_of": {
        "en": "Allowed values: {allowed}.",
        "cs": "Povolené hodnoty: {allowed}.",
    },
    "customer_id_only": {
        "en": "Customers are identified by customer_id only on this server.",
        "cs": "Zákazník se na tomto serveru určuje pouze pomocí customer_id.",
    },
    "event_type_not_found": {
        "en": "No event type with this ID exists.",
        "cs": "Typ události s tímto ID neexistuje.",
    },
    "property_not_found": {
        "en": "No event property with this ID exists.",
        "cs": "Vlastnost události s tímto ID neexistuje.",
    },
    "property_not_assigned": {
        "en": "The property is not assigned to the event type.",
        "cs": "Vlastnost není přiřazena k typu události.",
    },
    "property_required": {
        "en": "The event type requires this property.",
        "cs": "Typ události vyžaduje tuto vlastnost.",
    },
    "property_duplicate": {
        "en": "The property is given more than once.",
        "cs": "Vlastnost je uvedena vícekrát.",
    },
    "invalid_property_value": {
        "en": "The value does not match the property's data type {data_type}.",
        "cs": "Hodnota neodpovídá datovému typu vlastnosti {data_type}.",
    },
    "item_not_allowed": {
        "en": "The value is not one of the property's items.",
        "cs": "Hodnota není jednou z položek vlastnosti.",
    },
    "application_not_found": {
        "en": "No active external application with this ID exists.",
        "cs": "Aktivní externí aplikace s tímto ID neexistuje.",
    },
    "customer_not_found": {
        "en": "No customer in the customer directory matches this identifier.",
        "cs": "Žádný zákazník v adresáři zákazníků neodpovídá tomuto identifikátoru.",
    },
    "customer_id_not_found": {
        "en": "No customer with this ID exists in the customer directory.",
        "cs": "Zákazník s tímto ID v adresáři zákazníků neexistuje.",
    },
    "customer_ambiguous": {
        "en": "Several customers in the customer directory match this identifier.",
        "cs": "Tomuto identifikátoru odpovídá více zákazníků v adresáři zákazníků.",
    },
    "customer_id_or_identifier": {
        "en": "Send either customer_id or customer_identifier_type with "
        "customer_identifier_value, not both.",
        "cs": "Pošlete buď customer_id, nebo customer_identifier_type "
        "s customer_identifier_value, ne obojí.",
    },
    "expected_identifier_object": {
        "en": "For external_id, an object {customer_source_id, external_id} is expected.",
        "cs": "Pro external_id se očekává objekt {customer_source_id, external_id}.",
    },
    "relation_already_exists": {
        "en": "Relation for this combination of event type, customer ID and external IDs "
        "already exists.",
        "cs": "Vazba pro tuto kombinaci typu události, ID zákazníka a externích ID již existuje.",
    },
}


def text(key: str, lang: Lang, **params: object) -> str:
    template = MESSAGES[key][lang]
    return template.format(**params) if params else template


def localized(name: str | Mapping[str, str], lang: Lang) -> str:
    """A name in the answer's language: a plain name as it is; of a name per language, the one
    in `lang`, else the English one (the fallback of a header naming neither), else any."""
    if isinstance(name, str):
        return name
    return name.get(lang) or name.get("en") or next(iter(name.values()))


@lru_cache(maxsize=256)
def negotiate(accept_language: str | None) -> Lang:
    """Pick cs or en from an RFC 9110 Accept-Language header (highest q wins, ties by order)."""
    header = accept_language if accept_language and accept_language.strip() else None
    header = header or DEFAULT_ACCEPT_LANGUAGE
    best: tuple[float, int, Lang] | None = None
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        lang: Lang | None = "cs" if primary in ("cs", "cz") else "en" if primary == "en" else None
        if lang is None or quality <= 0:
            continue
        candidate = (-quality, position, lang)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else "en"
