"""Demo meetings for ``flask seed-demo``: a national rotation with held meetings (agendas presenting the demo
case studies, minutes, commitments with their progress: statuses and dated updates, some overdue), the next
meeting open for registration with its call for presentations open, and the district rotation of Turkistan
Region with a held meeting and a planned one.

Idempotent: each demo meeting has a fixed iCalendar UID and is created once, with its agenda and outcomes; a
second run finds it and adds nothing. The hosts of the meetings after the fixed history (from 2026 on) are the
ones the rotation engine plans, so the demo never contradicts the plan the rotation page shows. Adds and
flushes, never commits (``seed-demo`` commits). Texts are written for this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import sqlalchemy as sa

from app.auth.models import User
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.clock import utcnow
from app.extensions import db
from app.meetings.hosts import resolve_host
from app.meetings.models import NATIONAL
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import CommitmentUpdate
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import RegistrationQuestion
from app.meetings.rotation import services as rotation_services
from app.meetings.timezone import to_utc
from app.regions.services import find_akimat

ORGANISER_EMAIL = "organiser@demo.example.kz"
PROPOSER_EMAIL = "akim@demo.example.kz"
REGIONAL_SCOPE = "KZ-61"  # Turkistan Region: its districts and cities rotate their own meetings


@dataclass
class Item:
    """An agenda item: day (0-based), local start "HH:MM", minutes, kind, title or case slug."""

    day: int
    start: str
    minutes: int
    kind: str
    title: str = ""
    case: str | None = None
    presenter: str = ""
    location: str = ""


@dataclass
class Progress:
    """A dated progress update of a demo commitment."""

    day: date
    status: str
    note: str


@dataclass
class Pledge:
    """A commitment: the akimat (ISO, municipality) will ``action`` the case by ``due``; its dated updates
    (oldest first: the last one's status is the commitment's)."""

    akimat: tuple[str, str | None]
    case: str
    action: str
    due: date
    note: str
    adopted: bool = False
    progress: list[Progress] = field(default_factory=list)


@dataclass
class DemoMeeting:
    """One demo meeting."""

    scope: str
    year: int
    host: str | None  # None: the rotation engine's host for (scope, year)
    month: int
    day: int
    days: int
    title: str
    city: str
    venue: str
    description: str
    state: str = "held"
    items: list[Item] = field(default_factory=list)
    minutes: str = ""
    pledges: list[Pledge] = field(default_factory=list)


def _opening(day: int = 0) -> Item:
    return Item(day, "09:00", 30, "other", "Открытие: приветствие акима принимающего региона")


def _coffee(day: int, start: str) -> Item:
    return Item(day, start, 30, "break", "Кофе-брейк")


NATIONAL_MEETINGS = [
    DemoMeeting(
        NATIONAL, 2022, "KZ-55", 6, 9, 2, "Обмен опытом акимов — 2022, Павлодар", "Павлодар",
        "Дворец культуры имени Естая",
        "Первая встреча обмена опытом: бюджет участия, цифровые очереди и общественный транспорт.",
        items=[
            _opening(),
            Item(0, "09:30", 45, "presentation", case="pavlodar-peoples-budget"),
            Item(0, "10:15", 45, "presentation", case="almaty-onay-transit-card"),
            _coffee(0, "11:00"),
            Item(0, "11:30", 45, "presentation", case="karaganda-kindergarten-e-queue"),
            Item(0, "14:00", 90, "panel", "Панель: как вовлечь жителей в решения акимата",
                 presenter="Организационный комитет обмена"),
            Item(1, "09:30", 180, "site_visit", case="pavlodar-peoples-budget",
                 location="Микрорайон Усолка, дворы, благоустроенные по голосованию жителей"),
        ],
        minutes=(
            "* Павлодар показал, как жители выбирают проекты благоустройства: **18 %** бюджета района "
            "распределяется голосованием.\n"
            "* Алматы рассказал о переходе на карту Onay; главный урок — полгода работы бумажных билетов "
            "параллельно с картой.\n"
            "* Караганда поделилась электронной очередью в детские сады.\n\n"
            "Договорились собрать общий шаблон положения о бюджете участия к следующей встрече."
        ),
        pledges=[Pledge(("KZ-43", None), "pavlodar-peoples-budget", "adapt", date(2023, 12, 31),
                        "Начать с одного сельского округа Жалагашского района.",
                        progress=[Progress(date(2023, 3, 15), "limited",
                                           "Положение о бюджете участия принято в Жалагашском районе; голосование "
                                           "жителей назначено на осень."),
                                  Progress(date(2024, 2, 20), "substantial",
                                           "Жители сельского округа выбрали **три проекта**: два построены, третий "
                                           "перенесён на 2024 год. Остальные округа района — в следующем году.")])],
    ),
    DemoMeeting(
        NATIONAL, 2023, "KZ-63", 6, 15, 2, "Akims' exchange 2023, Oskemen", "Oskemen", "East Kazakhstan Technical "
        "University, conference hall",
        "Clean air, winter roads and open procurement data.",
        items=[
            _opening(),
            Item(0, "09:30", 45, "presentation", case="oskemen-air-quality-sensor-network"),
            Item(0, "10:15", 45, "presentation", case="astana-snow-removal-gps-tracking"),
            _coffee(0, "11:00"),
            Item(0, "11:30", 45, "presentation", case="kostanay-region-procurement-risk-dashboard"),
            Item(1, "10:00", 150, "site_visit", case="oskemen-air-quality-sensor-network",
                 location="Air-quality monitoring centre, Oskemen"),
        ],
        minutes=(
            "1. Oskemen's sensor network is cheap to copy: sensors, a public map, and a rule that the data is "
            "published unedited.\n"
            "2. Astana's GPS tracking of snow ploughs cut complaints; the hard part was the contractors, not the "
            "technology.\n"
            "3. Kostanay Region offered its procurement risk dashboard's code to every akimat that asks.\n"
        ),
        # Karaganda Region's adoption of this practice is in the demo case file: the commitment links to it (an
        # adoption made here from scratch would be removed when seed-demo re-imports the case file).
        pledges=[Pledge(("KZ-35", None), "oskemen-air-quality-sensor-network", "pilot", date(2024, 10, 1),
                        "Ten sensors in Karaganda's residential districts first.", adopted=True,
                        progress=[Progress(date(2024, 3, 1), "substantial",
                                           "Ten sensors installed in Maikuduk and Yugo-Vostok; the public map is "
                                           "online in test mode."),
                                  Progress(date(2024, 9, 20), "complete",
                                           "All ten sensors publish hourly data, unedited, on the akimat's site.")])],
    ),
    DemoMeeting(
        NATIONAL, 2024, "KZ-61", 5, 23, 2, "Тәжірибе алмасу — 2024, Түркістан", "Түркістан",
        "«Түркістан» конгресс-холлы",
        "Ауылдағы денсаулық сақтау және ауыз су: өңірлер не үйренді?",
        items=[
            _opening(),
            Item(0, "09:30", 45, "presentation", case="turkistan-region-rural-doctors-housing"),
            Item(0, "10:15", 45, "presentation", case="atyrau-region-mobile-medical-units"),
            _coffee(0, "11:00"),
            Item(0, "11:30", 45, "presentation", case="beyneu-rural-telemedicine"),
            Item(1, "09:00", 240, "site_visit", case="tolebi-rural-water-supply",
                 location="Қасқасу ауылдық округі, Төлеби ауданы"),
        ],
        minutes=(
            "Ауыл дәрігерлеріне қызметтік тұрғын үй беру — кадр тапшылығын азайтудың ең тиімді жолы болды. "
            "Атырау облысының жылжымалы медициналық кешендері мен Бейнеудегі телемедицина бір-бірін "
            "толықтырады.\n\n"
            "Келесі кездесуге дейін облыстар ауыл дәрігерлерін қолдау шараларын салыстыратын кесте дайындайды."
        ),
        pledges=[Pledge(("KZ-31", None), "turkistan-region-rural-doctors-housing", "pilot", date(2025, 9, 1),
                        "Жамбыл облысының үш ауданында қызметтік үйлер.",
                        progress=[Progress(date(2024, 11, 10), "limited",
                                           "Қордай ауданында ауыл дәрігерлеріне екі қызметтік үй сатып алынды; "
                                           "қалған екі ауданда қаражат келесі жылдың бюджетіне енгізілмеді.")])],
    ),
    DemoMeeting(
        NATIONAL, 2025, "KZ-11", 6, 12, 2, "Обмен опытом акимов — 2025, Кокшетау", "Кокшетау",
        "Кокшетауский университет имени Уалиханова",
        "Освещение, сельский туризм и школьные автобусы.",
        items=[
            _opening(),
            Item(0, "09:30", 45, "presentation", case="kokshetau-smart-street-lighting"),
            Item(0, "10:15", 45, "presentation", case="tselinograd-school-bus-dispatch"),
            _coffee(0, "11:00"),
            Item(0, "11:30", 45, "presentation", case="shymkent-bus-route-network-reform"),
            Item(1, "09:00", 300, "site_visit", case="katarkol-village-guest-house-grants",
                 location="Катарколь, Бурабайский район"),
        ],
        minutes=(
            "* Умное освещение в Кокшетау окупается за четыре года; ключ — договор энергосервиса.\n"
            "* Микрогранты гостевым домам Катарколя: участники побывали в трёх домах.\n"
            "* Шымкент предложил методику пересмотра маршрутной сети для городов от 200 тысяч жителей."
        ),
        pledges=[Pledge(("KZ-61", None), "katarkol-village-guest-house-grants", "adapt", date(2026, 12, 31),
                        "Гостевые дома вдоль маршрута Туркестан — Сауран.")],
    ),
    DemoMeeting(
        NATIONAL, 2026, None, 6, 11, 2, "Обмен опытом акимов — 2026", "", "Областной дом дружбы",
        "Тепло, вода и земля: инфраструктура после многих лет недофинансирования.",
        items=[
            _opening(),
            Item(0, "09:30", 45, "presentation", case="semey-district-heating-modernisation"),
            Item(0, "10:15", 45, "presentation", case="abai-region-unused-farmland-return"),
            _coffee(0, "11:00"),
            Item(0, "11:30", 45, "presentation", case="aral-solar-water-heaters-rural-schools"),
            Item(1, "09:30", 180, "site_visit", case="semey-district-heating-modernisation",
                 location="Котельная № 1 и тепловые сети Семея"),
        ],
        minutes=(
            "Семей показал поэтапную модернизацию теплосетей: сначала приборы учёта, потом замена участков "
            "с наибольшими потерями. Арал — солнечные водонагреватели в сельских школах.\n\n"
            "Следующая встреча — по плану ротации."
        ),
        pledges=[Pledge(("KZ-43", "Aral District"), "semey-district-heating-modernisation", "pilot",
                        date(2027, 10, 1), "Приборы учёта тепла в районном центре.",
                        progress=[Progress(date(2026, 9, 1), "limited",
                                           "Закуплены первые 40 приборов учёта; монтаж — до начала отопительного "
                                           "сезона.")])],
    ),
]

REGIONAL_MEETINGS = [
    DemoMeeting(
        REGIONAL_SCOPE, 2025, "Tolebi District", 9, 18, 1, "Аудандар тәжірибе алмасуы — 2025, Төлеби",
        "Ленгір", "Төлеби аудандық мәдениет үйі",
        "Түркістан облысы аудандарының ауыз су және ауыл шаруашылығы бойынша кездесуі.",
        items=[
            Item(0, "10:00", 45, "presentation", case="tolebi-rural-water-supply"),
            Item(0, "11:00", 45, "presentation", case="turkistan-region-rural-doctors-housing"),
            Item(0, "14:00", 120, "site_visit", case="tolebi-rural-water-supply",
                 location="Қасқасу ауылдық округі"),
        ],
        minutes="Аудандар ауыз су жобаларының сметаларын бір-бірімен бөлісуге келісті.",
    ),
    DemoMeeting(
        REGIONAL_SCOPE, 2026, None, 9, 24, 1, "Аудандар тәжірибе алмасуы — 2026", "", "Аудандық мәдениет үйі",
        "Ауылдағы денсаулық сақтау және жастар саясаты.",
        items=[Item(0, "10:00", 45, "presentation", case="turkistan-region-rural-doctors-housing")],
        minutes="Аудандар ауыл дәрігерлерін қолдау тәжірибесімен алмасты.",
    ),
]


def _local(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return to_utc(datetime(day.year, day.month, day.day, hours, minutes))


def _case(slug: str | None) -> CaseStudy | None:
    if not slug:
        return None
    return db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug, CaseStudy.is_published))


def _uid(scope: str, year: int, slot: int = 1) -> str:
    return f"meeting-demo-{scope.lower()}-{year}-{slot}@akims-exchange.kz"


def _planned_host(scope: str, year: int) -> str | None:
    """The rotation engine's host for the first meeting of ``year`` given what has been recorded so far."""
    plan = rotation_services.build(scope, start_year=year, years=1, per_year=1)
    return plan.slots[0].host


def _create(spec: DemoMeeting, edition: int, organiser: User | None, problems: list[str]) -> Meeting | None:
    code = spec.host or _planned_host(spec.scope, spec.year)
    host = resolve_host(spec.scope, code) if code else None
    if host is None:
        problems.append(f"demo meeting {spec.scope} {spec.year}: no host {code!r}; skipped.")
        return None
    first = date(spec.year, spec.month, spec.day)
    akimat = host.akimat()
    city = spec.city or (host.region.admin_center_ru if host.municipality is None else host.name("ru"))
    title = spec.title if spec.host else f"{spec.title}, {city}"  # a planned host: name its city in the title
    meeting = Meeting(
        uid=_uid(spec.scope, spec.year), scope=spec.scope, year=spec.year, slot=1, edition=edition, title=title,
        description=spec.description, host_region_id=host.region.id,
        host_municipality_id=host.municipality.id if host.municipality else None,
        host_akimat_id=akimat.id if akimat else None, city=city, venue=spec.venue,
        address="", format="in_person", starts_at=_local(first, "09:00"),
        ends_at=_local(first + timedelta(days=spec.days - 1), "18:00"), capacity=120, state=spec.state,
        contact_name="Организационный комитет", contact_email="exchange@demo.example.kz",
        created_by_id=organiser.id if organiser else None,
    )
    if spec.state == "held":
        meeting.registration_opens_at = _local(first - timedelta(days=60), "09:00")
        meeting.registration_closes_at = _local(first - timedelta(days=7), "18:00")
        meeting.minutes = spec.minutes
        meeting.outcomes_published_at = _local(first + timedelta(days=spec.days + 6), "12:00")
    db.session.add(meeting)
    db.session.flush()
    for position, item in enumerate(spec.items):
        case = _case(item.case)
        if item.case and case is None:
            problems.append(f"demo meeting {spec.scope} {spec.year}: no published case {item.case!r}; item skipped.")
            continue
        day = first + timedelta(days=item.day)
        starts = _local(day, item.start)
        db.session.add(AgendaItem(
            meeting=meeting, kind=item.kind, title=item.title or (case.title if case else ""), position=position,
            starts_at=starts, ends_at=starts + timedelta(minutes=item.minutes), case_study=case,
            presenter_name=item.presenter or (case.author_name if case and item.kind == "presentation" else ""),
            location=item.location,
        ))
    for pledge in spec.pledges:
        case = _case(pledge.case)
        committed = find_akimat(*pledge.akimat)
        if case is None or committed.id == case.akimat_id:
            problems.append(f"demo commitment {pledge.akimat} → {pledge.case!r}: not possible; skipped.")
            continue
        commitment = Commitment(meeting=meeting, akimat=committed, case_study=case, action=pledge.action,
                                due_date=pledge.due, note=pledge.note,
                                created_by_id=organiser.id if organiser else None)
        db.session.add(commitment)
        for progress in pledge.progress:
            commitment.updates.append(CommitmentUpdate(
                status=progress.status, note=progress.note,
                created_at=to_utc(datetime.combine(progress.day, time(11)))))
            commitment.status = progress.status
        if pledge.adopted:
            adoption = db.session.scalar(sa.select(Adoption).where(Adoption.case_study_id == case.id,
                                                                   Adoption.akimat_id == committed.id))
            if adoption is None:
                adoption = Adoption(case_study=case, akimat=committed, year=pledge.due.year, status="piloting",
                                    note=pledge.note, recorded_by_id=organiser.id if organiser else None)
                db.session.add(adoption)
            commitment.adoption = adoption
    db.session.flush()
    return meeting


def _next_meeting(scope: str, year: int, edition: int, organiser: User | None, proposer: User | None,
                  problems: list[str]) -> Meeting | None:
    """The next national meeting: open for registration, with its call for presentations open."""
    spec = DemoMeeting(
        scope, year, None, 6, 10, 2, f"Обмен опытом акимов — {year}", "", "Конференц-зал областного акимата",
        "Следующая встреча обмена опытом. Приглашаем акимов всех уровней: предложите свою практику "
        "до закрытия приёма заявок.", state="registration_open",
        items=[_opening(), _coffee(0, "11:00")],
    )
    meeting = _create(spec, edition, organiser, problems)
    if meeting is None:
        return None
    now = utcnow().replace(microsecond=0)
    meeting.registration_opens_at = now - timedelta(days=1)
    meeting.registration_closes_at = meeting.starts_at - timedelta(days=14)
    meeting.call_open = True
    meeting.call_closes_at = meeting.starts_at - timedelta(days=30)
    # Registration questions, as organisers of such a meeting would ask them.
    for position, (kind, label, help_text, required, options) in enumerate((
        ("choice", "Ваша роль на встрече", "", True, "Аким\nЗаместитель акима\nРуководитель отдела акимата\nЭксперт"),
        ("text", "Дата и время приезда", "Чтобы встретить вас на вокзале или в аэропорту.", False, ""),
        ("yes_no", "Нужна ли вам помощь с доступностью (пандус, сопровождение)?", "", False, ""),
    ), start=1):
        db.session.add(RegistrationQuestion(meeting=meeting, kind=kind, label=label, help_text=help_text,
                                            required=required, options=options, position=position))
    case = _case("almaty-public-councils")
    if proposer is not None and case is not None:
        db.session.add(Proposal(
            meeting=meeting, case_study=case, proposer_id=proposer.id, presenter_name=proposer.full_name,
            pitch="Как общественный совет Алматы перешёл от формальных заседаний к реальному контролю "
                  "бюджетных программ: регламент, открытые протоколы, отчёты акимата совету.",
        ))
    db.session.flush()
    return meeting


def seed_demo_meetings() -> dict:
    """Create the demo meetings that do not exist yet. Idempotent; adds and flushes, never commits.

    :return: ``{"meetings": n created, "problems": [str]}``.
    """
    organiser = db.session.scalar(sa.select(User).where(User.email == ORGANISER_EMAIL))
    proposer = db.session.scalar(sa.select(User).where(User.email == PROPOSER_EMAIL))
    problems: list[str] = []
    created = 0

    def exists(scope: str, year: int) -> bool:
        return db.session.scalar(sa.select(Meeting.id).where(Meeting.uid == _uid(scope, year))) is not None

    this_year = rotation_services.this_year()
    today = utcnow().date()
    for scope, specs in ((NATIONAL, NATIONAL_MEETINGS), (REGIONAL_SCOPE, REGIONAL_MEETINGS)):
        edition = 0
        for spec in specs:
            edition += 1
            if date(spec.year, spec.month, spec.day) >= today or exists(scope, spec.year):
                continue  # a held meeting must lie in the past; one already there is left alone
            created += _create(spec, edition, organiser, problems) is not None
        upcoming = this_year + 1
        if not exists(scope, upcoming):
            if scope == NATIONAL:
                meeting = _next_meeting(scope, upcoming, edition + 1, organiser, proposer, problems)
            else:
                spec = DemoMeeting(scope, upcoming, None, 9, 23, 1, f"Аудандар тәжірибе алмасуы — {upcoming}", "",
                                   "Аудандық мәдениет үйі", "Түркістан облысы аудандарының келесі кездесуі.",
                                   state="planned")
                meeting = _create(spec, edition + 1, organiser, problems)
            created += meeting is not None
    return {"meetings": created, "problems": problems}

