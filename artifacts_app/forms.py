"""Query parameters of the pages, /api/v1/stats, /api/v1/artifacts and /export.csv.

One form for every page and endpoint: `FilterForm(request.GET, user=request.user)` validates
the parameters and yields a `Scope`, or names the first parameter at fault in `error_line()`
(the 400 body). The user is required: the scope reads only the accounts visible to them
(`account=NAME` narrows those further; an account they may not see is answered exactly like
one that does not exist), and products and workflows resolve within those accounts only.
Every value is bounded before it is converted, so no input reaches `int()`, the calendar or
the database in a shape they would fail on.
"""

import re
from datetime import UTC, date, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Exists, OuterRef
from django.http import QueryDict
from django.utils import timezone

from .models import Account, CiProduct, CiWorkflow, FileType
from .scope import Scope

GRANULARITIES = ("day", "week", "month")
DEFAULT_DAYS = 90
# Ten years of daily buckets is the most one request may ask for.
MAX_DAYS = 3660
MAX_IDS = 50
MAX_PAGE = 1_000_000
MAX_WINDOW = 50
# Dates outside these years are typing mistakes; inside them every derived date (the range
# before, the instant after the end day) stays within what `datetime` can hold.
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2999, 12, 31)
PRESET_DAYS = (7, 30, 90, 365)
# ASCII only: `\d` and `str.isdigit()` also accept other scripts' digits, which `int()`
# and the calendar do not all take.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
WHOLE_RE = re.compile(r"[0-9]{1,9}", re.ASCII)
FILE_TYPE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,39}", re.ASCII)
COMMIT_RE = re.compile(r"[0-9a-f]{7,64}", re.ASCII)
BRANCH_MAX_LENGTH = 255
# Ids are looked up, not parsed: any printable text that fits the column may name a row.
ID_MAX_LENGTH = CiWorkflow._meta.get_field("asc_id").max_length
ACCOUNT_MAX_LENGTH = Account._meta.get_field("name").max_length
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def settings_default(name):
    if name == "threshold":
        return getattr(settings, "REGRESSION_THRESHOLD_PERCENT", 10) / 100
    return getattr(settings, "REGRESSION_WINDOW_RUNS", 5)


class _Values(forms.Widget):
    """Hands the field every value given for its name, so repeats can be refused."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])


class Param(forms.Field):
    """A parameter given at most once, read by `convert`; an empty value is no value."""

    widget = _Values

    def __init__(self, convert):
        self.convert = convert
        super().__init__(required=False)

    def to_python(self, values):
        if len(values) > 1:
            raise ValidationError(f"give it once, not {len(values)} times")
        raw = values[0].strip() if values else ""
        return self.convert(raw) if raw else None


def _date(raw):
    try:
        if not DATE_RE.fullmatch(raw):
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{raw[:40]!r} is not a date in YYYY-MM-DD form") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValidationError(f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


def _one_of(choices):
    def convert(raw):
        if raw not in choices:
            raise ValidationError(f"must be one of {', '.join(choices)}, not {raw[:40]!r}")
        return raw

    return convert


def _whole(maximum):
    def convert(raw):
        if not WHOLE_RE.fullmatch(raw) or not 1 <= int(raw) <= maximum:
            raise ValidationError(f"must be a whole number from 1 to {maximum}")
        return int(raw)

    return convert


def _percent(raw):
    try:
        value = float(raw[:40])
    except ValueError:
        value = -1
    if not 0 < value <= 1000:  # NaN fails this too
        raise ValidationError("must be a percentage above 0 and at most 1000")
    return value / 100


def _file_type(raw):
    # Apple may add file types later: accept any value shaped like one.
    if not FILE_TYPE_RE.fullmatch(raw):
        raise ValidationError(f"{raw[:40]!r} is not a file type such as ARCHIVE")
    return raw


def _asc_id(raw):
    if len(raw) > ID_MAX_LENGTH or CONTROL_RE.search(raw):
        raise ValidationError(f"{raw[:40]!r} is not an App Store Connect id")
    return raw


def _account_name(raw):
    if len(raw) > ACCOUNT_MAX_LENGTH or CONTROL_RE.search(raw):
        raise ValidationError(f"{raw[:40]!r} is not an account name")
    return raw


def _branch(raw):
    if len(raw) > BRANCH_MAX_LENGTH or CONTROL_RE.search(raw):
        raise ValidationError(f"{raw[:40]!r} is not a branch or tag name")
    return raw


def _commit(raw):
    if not COMMIT_RE.fullmatch(raw.lower()):
        raise ValidationError(
            f"{raw[:40]!r} is not a commit SHA or a prefix of at least 7 hex digits"
        )
    return raw.lower()


class ListParam(Param):
    """A parameter that may repeat: distinct values in order, empty ones left out."""

    def to_python(self, values):
        result = []
        for raw in values:
            value = self.convert(raw.strip()) if raw.strip() else None
            if value is not None and value not in result:
                result.append(value)
        if len(result) > MAX_IDS:
            raise ValidationError(f"at most {MAX_IDS} values")
        return tuple(result)


class AccountsParam(forms.Form):
    """`account=NAME` (repeatable) among the accounts the user may see; none given: all of
    them. Every form that reads account data takes the user through `see_accounts_of`."""

    account = ListParam(_account_name)

    def see_accounts_of(self, user):
        self.user = user
        # Every account, each marked whether the user may see it: one query.
        visible = Account.objects.visible_to(user).filter(pk=OuterRef("pk"))
        accounts = Account.objects.annotate(seen=Exists(visible)).order_by("name")
        marked = list(accounts.values_list("name", "pk", "seen"))
        # (name, pk) of every account the user may see: the account switcher's choices.
        self.visible_accounts = [(name, pk) for name, pk, seen in marked if seen]
        self.sees_every_account = len(self.visible_accounts) == len(marked)

    def clean_account(self):
        visible = dict(self.visible_accounts)
        names = self.cleaned_data["account"]
        # One answer for unknown and not granted, so a name's existence does not leak.
        missing = [name for name in names if name not in visible]
        if missing:
            raise ValidationError(f"no account named {missing[0][:40]!r}")
        return tuple((name, visible[name]) for name in names)

    def _every_account(self) -> bool:
        """Whether the accounts read are all there are: none chosen, and the user sees all."""
        return self.sees_every_account and not self.cleaned_data.get("account")

    def _account_pks(self) -> tuple[int, ...]:
        chosen = self.cleaned_data.get("account")
        return tuple(pk for _, pk in (chosen or self.visible_accounts))


class FilterForm(AccountsParam):
    """The parameters of every page and endpoint. With `workflow`, the view is that
    workflow's own: product and workflow parameters are not read."""

    start = Param(_date)
    end = Param(_date)
    granularity = Param(_one_of(GRANULARITIES))
    product = ListParam(_asc_id)
    workflow = ListParam(_asc_id)
    file_type = ListParam(_file_type)
    branch = ListParam(_branch)
    commit = Param(_commit)
    trend_type = Param(_file_type)
    page = Param(_whole(MAX_PAGE))
    threshold = Param(_percent)
    window = Param(_whole(MAX_WINDOW))

    def __init__(self, data=None, *, user, workflow=None, today=None):
        super().__init__(QueryDict() if data is None else data)
        self.see_accounts_of(user)
        self.fixed_workflow = workflow
        self.today = today or today_utc()
        if workflow is not None:
            del self.fields["product"], self.fields["workflow"]

    @classmethod
    def default_scope(cls, *, user, workflow=None, today=None) -> Scope:
        """The view shown beside an error: the defaults, nothing asked for."""
        return cls(user=user, workflow=workflow, today=today).scope

    def clean_product(self):
        return self._resolve(CiProduct, "product")

    def clean_workflow(self):
        return self._resolve(CiWorkflow, "workflow")

    def _resolve(self, model, name):
        asc_ids = self.cleaned_data[name]
        rows = model.objects.of_accounts(self._account_pks()).filter(asc_id__in=asc_ids)
        found = dict(rows.values_list("asc_id", "pk"))
        missing = [asc_id for asc_id in asc_ids if asc_id not in found]
        if missing:
            raise ValidationError(f"no {name} with id {missing[0][:40]!r}")
        return tuple((asc_id, found[asc_id]) for asc_id in asc_ids)

    def clean(self):
        data = self.cleaned_data
        if "start" not in data or "end" not in data:
            return data
        start, end = data["start"], data["end"]
        if end is None:
            end = self.today if start is None else max(self.today, start)
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", f"{start.isoformat()} is after end {end.isoformat()}")
        elif (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(f"start/end: the range may span at most {MAX_DAYS} days")
        data["start"], data["end"] = start, end
        return data

    def error_line(self) -> str:
        """The first problem, naming its parameter: `granularity: must be one of ...`."""
        for name, errors in self.errors.as_data().items():
            message = errors[0].messages[0]
            return message if name == NON_FIELD_ERRORS else f"{name}: {message}"
        return ""

    @property
    def scope(self) -> Scope:
        if not self.is_valid():
            raise ValueError(self.error_line())
        data = self.cleaned_data
        if self.fixed_workflow is not None:
            products, workflows = (), ((self.fixed_workflow.asc_id, self.fixed_workflow.pk),)
        else:
            products, workflows = data["product"], data["workflow"]
        return Scope(
            start=data["start"],
            end=data["end"],
            granularity=data["granularity"] or "day",
            products=tuple(asc_id for asc_id, _ in products),
            workflows=tuple(asc_id for asc_id, _ in workflows),
            file_types=data["file_type"],
            product_pks=tuple(pk for _, pk in products),
            workflow_pks=tuple(pk for _, pk in workflows),
            page=data["page"] or 1,
            trend_type=data["trend_type"] or FileType.ARCHIVE,
            regression_threshold=data["threshold"] or settings_default("threshold"),
            regression_window=data["window"] or settings_default("window"),
            branches=data["branch"],
            commit=data["commit"] or "",
            commit_all_time=bool(data["commit"])
            and not (self.data.get("start") or self.data.get("end")),
            accounts=tuple(name for name, _ in data["account"]),
            account_pks=self._account_pks(),
            every_account=self._every_account(),
        )
