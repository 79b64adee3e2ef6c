"""A person's user agent for the sign-in tests that need no page rendering: ``requests`` follows
the redirects between the site and the provider and fills in the provider's login form, and a
test may change the authorization request or the provider's answer on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests

Tamper = Callable[[str], str]


def replace_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


class Browser:
    def __init__(self, site):
        self.site = site
        self.http = requests.Session()

    def get(self, url: str) -> requests.Response:
        return self.http.get(urljoin(self.site.url, url), allow_redirects=False, timeout=10)

    def sign_in(
        self,
        login: str,
        password: str = "pw",
        *,
        tamper_request: Tamper | None = None,
        tamper_answer: Tamper | None = None,
        start: str = "/accounts/oidc/authenticate/",
    ) -> requests.Response:
        """Start at ``start``, sign in at the provider, and return the site's answer to the
        provider's redirect back (the callback), unfollowed."""
        response = self.get(start)
        to_provider = response.headers["Location"]
        return self.through_provider(
            tamper_request(to_provider) if tamper_request else to_provider, login, password, tamper_answer
        )

    def through_provider(self, url: str, login: str, password: str, tamper_answer: Tamper | None = None):
        """Follow redirects at the provider (signing in when it asks) until it sends the browser
        back to the site; return the site's answer to that."""
        for _ in range(20):
            if url.startswith(self.site.url):
                return self.get(tamper_answer(url) if tamper_answer else url)
            response = self.http.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            action = re.search(r'<form method="post" action="([^"]+)"', response.text)
            assert action, f"the provider showed no login form at {url}: {response.text[:500]}"
            response = self.http.post(
                urljoin(url, action.group(1)), data={"login": login, "password": password}, allow_redirects=False
            )
            assert response.is_redirect, f"the provider refused the login {login!r}: {response.text[:500]}"
            url = urljoin(url, response.headers["Location"])
        raise AssertionError("too many redirects at the provider")

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow the site's redirects (not the provider's) to the page a person would see."""
        while response.is_redirect and urljoin(response.url, response.headers["Location"]).startswith(self.site.url):
            response = self.get(urljoin(response.url, response.headers["Location"]))
        return response
