"""Mart selects of electronic medical documents (СЭМД): coverage, flow, rejections, days."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import and_, case, func, literal, select

from data_access import schema as s

from .sql import DAY, Window, as_date, flag, month_of, total


def _required_episodes(w: Window):
    """Episodes (and exams) that make a document due, with the kind due and the moment it fell due."""
    e, m, k, r = s.care_episode, s.mo, s.emd_kind, s.emd_requirement
    basis = case((e.c.kind == "inpatient", "inpatient_episode"), (e.c.kind == "maternity", "birth"),
                 (e.c.purpose == "prevention", "prevention"), else_="outpatient_episode")
    ep = select(e.c.episode_id, e.c.mo_id, e.c.doctor_id, e.c.closed_at, e.c.closed_date, basis.label("basis")
                ).where(w.on(e.c.closed_date)).subquery("ep")
    due = select(ep.c.episode_id, ep.c.mo_id, ep.c.doctor_id, ep.c.closed_at, ep.c.closed_date, k.c.kind_code
                 ).select_from(ep.join(m, m.c.mo_id == ep.c.mo_id).join(r, r.c.mo_kind == m.c.kind)
                               .join(k, and_(k.c.kind_code == r.c.kind_code, k.c.basis == ep.c.basis)))
    # Exam results are due per completed stage 1, on the episode that closed it.
    x = s.dispensary_exam
    pe = s.care_episode.alias("pe")
    exams = select(x.c.episode_id, x.c.mo_id, x.c.doctor_id, pe.c.closed_at, x.c.stage1_end.label("closed_date"),
                   literal("DISP_RES").label("kind_code")
                   ).select_from(x.join(pe, pe.c.episode_id == x.c.episode_id)).where(w.on(x.c.stage1_end))
    return sa.union_all(due, exams).subquery("req")


def sel_emd_coverage(w: Window):
    req = _required_episodes(w)
    doc, e = s.emd_document, s.care_episode
    # only the documents of the episodes closed in the window (an index on episode_id serves this)
    in_window = select(e.c.episode_id).where(w.on(e.c.closed_date))
    docs = select(doc.c.episode_id, doc.c.kind_code,
                  func.max(flag(doc.c.status == "registered")).label("reg"),
                  func.min(case((doc.c.status == "registered", doc.c.status_at))).label("reg_at")
                  ).where(doc.c.episode_id.in_(in_window)).group_by(doc.c.episode_id, doc.c.kind_code).subquery("d")
    m, doc = s.mo, s.doctor
    mon = month_of(req.c.closed_date)
    cols = [mon, m.c.district_id, req.c.mo_id, doc.c.dept_id, req.c.doctor_id, req.c.kind_code]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "kind_code"])],
                  func.count().label("required"),
                  total(docs.c.episode_id.is_not(None)).label("with_doc"),
                  total(docs.c.reg == 1).label("with_registered"),
                  total(docs.c.reg_at <= req.c.closed_at + DAY).label("registered_1d"),
                  ).select_from(req.join(m, m.c.mo_id == req.c.mo_id).join(doc, doc.c.doctor_id == req.c.doctor_id).outerjoin(
                      docs, and_(docs.c.episode_id == req.c.episode_id, docs.c.kind_code == req.c.kind_code))
                  ).group_by(*cols)


def sel_emd_flow(w: Window):
    d, e, m, doc = s.emd_document, s.care_episode, s.mo, s.doctor
    mon = month_of(d.c.created_at)
    reg = d.c.status == "registered"
    delay = d.c.status_at
    base = func.coalesce(e.c.closed_at, d.c.created_at)
    cols = [mon, m.c.district_id, d.c.mo_id, doc.c.dept_id, d.c.doctor_id, d.c.kind_code]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "dept_id", "doctor_id", "kind_code"])],
                  func.count().label("created"),
                  total(d.c.signed_at.is_not(None)).label("signed"),
                  total(d.c.sent_at.is_not(None)).label("sent"),
                  total(reg).label("registered"),
                  total(d.c.status == "rejected_regional").label("rejected_regional"),
                  total(d.c.status == "rejected_federal").label("rejected_federal"),
                  total(d.c.status == "transmission_error").label("transmission_error"),
                  total(d.c.status == "sent").label("awaiting"),
                  total(d.c.sent_at <= d.c.created_at + DAY).label("sent_1d"),
                  total(reg & (delay <= base + dt.timedelta(hours=1))).label("reg_lt1h"),
                  total(reg & (delay > base + dt.timedelta(hours=1)) & (delay <= base + DAY)).label("reg_lt24h"),
                  total(reg & (delay > base + DAY) & (delay <= base + 3 * DAY)).label("reg_lt3d"),
                  total(reg & (delay > base + 3 * DAY) & (delay <= base + 7 * DAY)).label("reg_lt7d"),
                  total(reg & (delay > base + 7 * DAY)).label("reg_later"),
                  ).select_from(d.join(m, m.c.mo_id == d.c.mo_id).join(doc, doc.c.doctor_id == d.c.doctor_id)
                                .outerjoin(e, e.c.episode_id == d.c.episode_id)
                                ).where(w.on(d.c.created_at, ts=True)).group_by(*cols)


def sel_emd_reject(w: Window):
    d, m = s.emd_document, s.mo
    mon = month_of(d.c.created_at)
    cols = [mon, m.c.district_id, d.c.mo_id, d.c.kind_code, d.c.status, func.coalesce(d.c.rejection_reason, "—")]
    return select(*[c.label(n) for c, n in zip(cols, ["month", "district_id", "mo_id", "kind_code", "status", "reason"])],
                  func.count().label("docs")
                  ).select_from(d.join(m, m.c.mo_id == d.c.mo_id)).where(
        w.on(d.c.created_at, ts=True), d.c.status.in_(["rejected_regional", "rejected_federal", "transmission_error"])
    ).group_by(*cols)


def sel_emd_day(w: Window):
    """Documents per organisation and day: created (by creation day) and sent / registered (by their day)."""
    d, m = s.emd_document, s.mo
    events = sa.union_all(
        select(as_date(d.c.created_at).label("day"), d.c.mo_id, literal(1).label("c"), literal(0).label("s"),
               literal(0).label("r")).where(w.on(d.c.created_at, ts=True)),
        select(as_date(d.c.sent_at).label("day"), d.c.mo_id, literal(0), literal(1), literal(0)
               ).where(w.on(d.c.sent_at, ts=True)),
        select(as_date(d.c.status_at).label("day"), d.c.mo_id, literal(0), literal(0), literal(1)
               ).where(w.on(d.c.status_at, ts=True), d.c.status == "registered"),
    ).subquery("ev")
    cols = [events.c.day, month_of(events.c.day), m.c.district_id, events.c.mo_id]
    return select(*[c.label(n) for c, n in zip(cols, ["day", "month", "district_id", "mo_id"])],
                  func.sum(events.c.c).label("created"), func.sum(events.c.s).label("sent"),
                  func.sum(events.c.r).label("registered")
                  ).select_from(events.join(m, m.c.mo_id == events.c.mo_id)).group_by(*cols)
