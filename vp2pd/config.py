"""Customer configuration: `customers/<slug>/customer.yml`, validated by a typed model.

Precedence: environment (`VP2PD_<FIELD>`, nested with `__`, e.g.
`VP2PD_VISUAL_PRACTICE__BASE_URL`) overrides the file, the file overrides the defaults below.
Secrets never live here: they are read from the environment by `vp2pd.secrets`, and a
customer file that carries one is refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CUSTOMER = "demo"
SECRET_WORDS = ("api_key", "apikey", "token", "password", "secret")


class ConfigError(ValueError):
    """A customer configuration that cannot be used, with the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisualPracticeSettings(_Section):
    source: Literal["api", "csv"] = "api"
    base_url: str = "http://127.0.0.1:8765/api/v1"
    per_page: int = Field(100, ge=1, le=100)
    requests_per_minute: int = Field(200, ge=1)
    concurrency: int = Field(4, ge=1, le=32)
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(8, ge=0)
    user_agent: str = "vp2pd/0.1 (Visual Practice to Pipedrive migration)"
    # The admin-panel export (folder or zip) when `source` is csv; relative to the customer folder.
    csv_path: Path | None = None
    # Header aliases of this customer's export, merged over the shipped defaults.
    csv_aliases: Path | None = None
    # Healing gives up when a collection's count still differs after this many passes.
    heal_passes: int = Field(5, ge=0)


class DocumentSettings(_Section):
    # within_limit: only files the load can send (<= size_limit_mb); larger ones are listed.
    download: Literal["all", "within_limit", "none"] = "within_limit"
    size_limit_mb: int = Field(50, ge=1)


class PipedriveSettings(_Section):
    """The Pipedrive company to load into; the names are `PipedriveClient.from_env`'s options.

    Exactly one of `company` (the real `https://{company}.pipedrive.com`) and `base_url` (the
    sandbox, a proxy). The token is PIPEDRIVE_API_TOKEN from the environment, never this file.
    """

    company: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    base_url: str | None = None
    auth: Literal["api_token", "oauth"] = "api_token"
    plan: Literal["lite", "growth", "premium", "ultimate"] = "growth"
    seats: int = Field(1, ge=1)
    # The daily token budget resets at midnight of the company's time zone.
    timezone: str = "UTC"
    # For accounts that bought extra tokens; otherwise 30,000 x plan multiplier x seats.
    daily_budget: int | None = Field(None, ge=1)
    # Tokens kept back at the end of a day (default: 5% of the budget).
    reserve_tokens: int | None = Field(None, ge=0)
    timeout_s: float = Field(30.0, gt=0)
    concurrency: int = Field(8, ge=1)
    max_concurrency: int = Field(32, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> "PipedriveSettings":
        if self.company and self.base_url:
            raise ValueError("give pipedrive.company or pipedrive.base_url, not both")
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `PipedriveClient.from_env`."""
        if not (self.company or self.base_url):
            raise ConfigError("no Pipedrive company: set pipedrive.company (https://<company>.pipedrive.com) "
                              "or pipedrive.base_url in customer.yml")
        return self.model_dump(exclude_none=True)


PICKLIST_STATUSES = ("Active", "Inactive", "Prospect", "Former")


class ClaimsRetention(_Section):
    # Claims are PHI: nothing is sent unless `migrate` is true, and then only these claim fields.
    migrate: bool = False
    fields: list[Literal["payer", "submitted_on", "status", "diagnostic_code", "health_number", "version_code"]] = [
        "payer", "submitted_on", "status"]


class MappingRules(_Section):
    """The customer's mapping rules, passed to the dbt models as vars (no SQL edit per customer)."""

    # Source client status -> Client_Status option; a status missing here is reported, not guessed.
    status_map: dict[str, Literal["Active", "Inactive", "Prospect", "Former"]] = {
        "active": "Active", "inactive": "Inactive", "prospect": "Prospect", "former": "Former"}
    # Cancelled and no-show appointments are skipped unless listed here (template slots never move).
    keep_appointments: list[Literal["cancelled", "no_show"]] = []
    claims: ClaimsRetention = ClaimsRetention()
    # per_person is the token-lean choice: one summary Note per Person instead of one per invoice.
    invoice_notes: Literal["per_invoice", "per_person"] = "per_invoice"
    # activity_note puts a SOAP note in its Activity's `note` (no extra call); person_note makes a Note.
    soap_notes: Literal["activity_note", "person_note"] = "activity_note"
    # Exports without a channel: a booking this short (or whose notes speak of a call) is a call.
    call_max_minutes: int = Field(15, ge=0)
    # Pipedrive refuses notes over 100 KB; longer ones are split into numbered parts.
    note_max_bytes: int = Field(100_000, ge=1_000, le=100_000)
    # The optional LLM re-rank of `propose-map` (VP2PD_LLM_*) sees headers and profiles only, unless
    # this is true; then also sample values (PHI columns' masked even so).
    llm_sees_values: bool = False


class CustomerConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VP2PD_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    timezone: str = "America/Toronto"
    currency: str = "CAD"
    visual_practice: VisualPracticeSettings = VisualPracticeSettings()
    documents: DocumentSettings = DocumentSettings()
    rules: MappingRules = MappingRules()
    pipedrive: PipedriveSettings = PipedriveSettings()
    build_dir: Path = Path("build")
    # Folder the customer file was read from (set by `load_customer`, not by the file).
    home: Path = Field(default=Path("."), exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment must win over them.
        return (env_settings, init_settings)

    # Where this customer's generated things go.
    @property
    def warehouse_path(self) -> Path:
        return self.build_dir / f"{self.slug}.duckdb"

    @property
    def customer_build_dir(self) -> Path:
        return self.build_dir / self.slug

    @property
    def documents_dir(self) -> Path:
        return self.customer_build_dir / "documents"

    @property
    def mapping_dir(self) -> Path:
        """The confirmed field map and proposals (`mapping/confirmed.yml`)."""
        return self.home / "mapping"

    @property
    def pipeline_path(self) -> Path:
        """The pipeline worksheet: deal pipeline and stage per service-contract status."""
        return self.home / "pipeline.yml"

    @property
    def reports_dir(self) -> Path:
        return self.customer_build_dir / "reports"

    def resolve(self, path: Path) -> Path:
        """A path from the customer file, relative to the customer's folder."""
        return path if path.is_absolute() else self.home / path


def customers_dir() -> Path:
    return Path(os.environ.get("VP2PD_CUSTOMERS_DIR", REPO_ROOT / "customers"))


def _secret_keys(data: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if any(word in str(key).lower() for word in SECRET_WORDS):
                found.append(path)
            found += _secret_keys(value, path + ".")
    return found


def load_customer(slug: str = DEFAULT_CUSTOMER, directory: Path | None = None) -> CustomerConfig:
    """Read and validate `customers/<slug>/customer.yml`, with environment overrides applied."""
    home = (directory or customers_dir()) / slug
    path = home / "customer.yml"
    if not path.is_file():
        raise ConfigError(f"no customer configuration at {path}; create it (see customers/demo/customer.yml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of settings")
    secrets = _secret_keys(data)
    if secrets:
        raise ConfigError(
            f"{path} holds secret settings ({', '.join(secrets)}); secrets come from the "
            "environment only (VP_API_KEY, PIPEDRIVE_API_TOKEN): remove them from the file"
        )
    if data.get("slug", slug) != slug:
        raise ConfigError(f"{path} says slug {data['slug']!r} but lives in folder {slug!r}")
    data["slug"] = slug
    try:
        return CustomerConfig(**data, home=home)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{exc}") from exc
