"""Browser tests: the drill-down region → district → organisation → doctor and back, with a clean log."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser import clean_log, click, click_bar, click_fresh, open_page, sign_in, wait_ready, wait_text, wait_url

pytestmark = pytest.mark.browser


def test_drill_down_and_back_with_the_back_button(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    d = dash_duo.driver
    wait_text(dash_duo, "#home-title", "Ключевые показатели — Санкт-Петербург")
    open_page(dash_duo, "/indicator/emk_coverage?level=district&period=2026-09")
    wait_text(dash_duo, "#ind-subtitle", "уровень: район")
    top_district = dash_duo.find_elements("#ind-table td[data-dash-column='unit_name']")[0].text
    click_bar(dash_duo, "ind-bars", -1)  # the top bar is the best district
    url = wait_url(dash_duo, "level=mo")
    assert "parent=" in url and "period=2026-09" in url
    wait_text(dash_duo, "#breadcrumbs", top_district)
    wait_text(dash_duo, "#ind-subtitle", "медицинская организация")
    first_mo = dash_duo.find_elements("#ind-table td[data-dash-column='unit_name']")[0]
    mo_name = first_mo.text
    click(dash_duo, first_mo)
    wait_url(dash_duo, "level=doctor")
    wait_text(dash_duo, "#breadcrumbs", mo_name)
    wait_text(dash_duo, "#ind-subtitle", "врач")
    doctors = dash_duo.find_elements("#ind-table td[data-dash-column='unit_name']")
    assert doctors and all(len(x.text.split()) == 3 for x in doctors)  # full names of doctors
    # a shared link shows the same view after a reload
    doctor_url = d.current_url
    d.refresh()
    wait_ready(dash_duo)
    wait_text(dash_duo, "#breadcrumbs", mo_name)
    assert d.current_url == doctor_url
    d.back()
    wait_url(dash_duo, "level=mo")
    wait_text(dash_duo, "#ind-subtitle", "медицинская организация")
    d.back()
    wait_url(dash_duo, "level=district")
    wait_text(dash_duo, "#ind-subtitle", "уровень: район")
    assert clean_log(dash_duo) == []


def test_period_picker_changes_the_url(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    d = dash_duo.driver
    open_page(dash_duo, "/indicator/access_primary_24h?level=district&period=2026-09")
    wait_text(dash_duo, "#ind-subtitle", "сентябрь 2026")
    d.find_element(By.XPATH, "//label[text()='Квартал']").click()
    url = wait_url(dash_duo, "period=2026-Q3")
    assert "/indicator/access_primary_24h?" in url and "level=district" in url  # the rest of the view is kept
    wait_text(dash_duo, "#ind-subtitle", "3 квартал 2026")
    # the same picker on another page writes that page's own address
    open_page(dash_duo, "/morbidity?period=2026-09")
    wait_text(dash_duo, "#morb-subtitle", "сентябрь 2026")
    d.find_element(By.XPATH, "//label[text()='С начала года']").click()
    url = wait_url(dash_duo, "-YTD")
    assert "/morbidity?" in url and "indicator" not in url
    wait_text(dash_duo, "#morb-subtitle", "январь–")
    assert clean_log(dash_duo) == []


def test_bad_url_is_explained_not_blank(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    open_page(dash_duo, "/indicator/emk_coverage?period=2026-13")
    wait_text(dash_duo, "#ind-problem", "не распознан")
    open_page(dash_duo, "/indicator/no_such_indicator")
    wait_text(dash_duo, "#ind-problem", "не найден")
    assert clean_log(dash_duo) == []


def test_district_head_lands_on_their_district(dash_duo, city_app):
    sign_in(dash_duo, city_app, "kolpino")
    wait_text(dash_duo, "#home-title", "Колпинский")
    open_page(dash_duo, "/indicator/emk_coverage")
    wait_text(dash_duo, "#breadcrumbs", "Колпинский")
    assert clean_log(dash_duo) == []


@pytest.fixture
def task_app(city_copy, make_app):
    """A private copy of the city (the test creates a task) with the test users."""
    from tests.conftest import create_users
    app = make_app(city_copy, login_failure_delay=0)
    with app.app_context():
        app.places = create_users(city_copy)
    return app


def test_put_an_organisation_on_control_from_the_rating(dash_duo, task_app):
    sign_in(dash_duo, task_app, "chair")
    d = dash_duo.driver
    district = task_app.places["kolpino"]["district_id"]
    rating = f"/rating?level=mo&parent={district}&period=2026-Q2&kind=adult_polyclinic"
    open_page(dash_duo, rating)
    wait_text(dash_duo, "#rating-title", "взрослая поликлиника")
    click(dash_duo, d.find_element(By.LINK_TEXT, "Почему это место?"))
    wait_url(dash_duo, "/unit?level=mo")
    wait_text(dash_duo, "#unit-explain", "балл")
    org_name = d.find_element(By.CSS_SELECTOR, ".breadcrumb-item.active").text
    click(dash_duo, dash_duo.wait_for_element("#unit-table button", timeout=20))  # the first «На контроль»
    wait_text(dash_duo, "#task-dlg-facts-box", "при цели")
    d.find_element(By.ID, "task-dlg-assignee").send_keys("Заведующий терапевтическим отделением")
    d.find_element(By.ID, "task-dlg-descr").send_keys("Разобрать причины отставания и доложить")
    click(dash_duo, d.find_element(By.ID, "task-dlg-save"))
    wait_text(dash_duo, "#unit-table", "Новая")
    open_page(dash_duo, rating)
    wait_text(dash_duo, "#rating-table", "Новая")
    row = d.find_element(By.XPATH, f"//table[@id='rating-table']//tr[.//a[text()='{org_name}']]")
    assert "Новая" in row.text
    assert clean_log(dash_duo) == []


def test_emk_page_at_every_level(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    open_page(dash_duo, "/emk?period=2026-09")
    wait_text(dash_duo, "#emk-subtitle", "Санкт-Петербург")
    for level in ("district", "mo", "dept", "doctor"):
        names = dash_duo.find_elements("#emk-coverage-table td[data-dash-column='name']")
        assert names, f"no rows to drill from towards {level}"
        target = names[0].text
        click(dash_duo, names[0])
        wait_url(dash_duo, f"level={level}")
        wait_text(dash_duo, "#emk-subtitle", target)
        if level != "doctor":
            dash_duo.wait_for_element("#emk-coverage-table", timeout=20)
    wait_text(dash_duo, "#emk-breadcrumbs", "Санкт-Петербург")
    assert clean_log(dash_duo) == []


def test_access_page_drills_to_a_doctor(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    open_page(dash_duo, "/access?period=2026-09")
    wait_text(dash_duo, "#acc-subtitle", "Санкт-Петербург")
    for level in ("district", "mo", "spec", "doctor"):
        names = dash_duo.find_elements("#acc-children-table td[data-dash-column='name']")
        assert names, f"no rows to drill from towards {level}"
        target = names[0].text
        click(dash_duo, names[0])
        wait_url(dash_duo, f"level={level}")
        wait_text(dash_duo, "#acc-subtitle", target)
    dash_duo.wait_for_element("#acc-nearest-table", timeout=20)
    assert clean_log(dash_duo) == []


def test_pregnancy_page_with_the_worklist(dash_duo, city_app):
    sign_in(dash_duo, city_app, "kolpino")
    district = city_app.places["kolpino"]["district_id"]
    open_page(dash_duo, f"/pregnancy?level=district&id={district}&period=2026-09")
    wait_text(dash_duo, "#preg-subtitle", "Колпинский")
    dash_duo.wait_for_element("#preg-worklist-table-csv", timeout=20)  # the worklist is there for a district head
    names = dash_duo.find_elements("#preg-register-table td[data-dash-column='name']")
    assert names
    target = names[0].text
    click(dash_duo, names[0])
    wait_url(dash_duo, "level=mo")
    wait_text(dash_duo, "#preg-subtitle", target)
    assert clean_log(dash_duo) == []


def test_prevention_from_the_district_to_the_list_of_whom_to_invite(dash_duo, task_app):
    """A district manager opens prevention on his district, drills to an organisation, opens «Кого пригласить»
    and marks a person as invited; the mark is saved."""
    sign_in(dash_duo, task_app, "kolpino")
    open_page(dash_duo, "/prevention?tab=dispensary&period=2026")
    wait_text(dash_duo, "#prev-subtitle", "Колпинский")
    target = click_fresh(dash_duo, "#prev-disp-units-table td[data-dash-column='name']")
    wait_url(dash_duo, "level=mo")
    wait_text(dash_duo, "#prev-subtitle", target)
    click_fresh(dash_duo, "#prev-tab a.nav-link", lambda xs: next((x for x in xs if "Кого пригласить" in x.text), None))
    wait_url(dash_duo, "tab=worklist")
    dash_duo.wait_for_element("#prev-areas-table", timeout=20)
    dash_duo.wait_for_element("#prev-worklist-table-csv", timeout=20)
    click_fresh(dash_duo, "#prev-worklist-table td.dash-select-cell input")
    click_fresh(dash_duo, "#prev-save-status")
    wait_text(dash_duo, "#prev-status-saved", "Сохранено отметок: 1")
    wait_text(dash_duo, "#prev-worklist-table", "приглашён")
    assert clean_log(dash_duo) == []


def test_mo_head_opens_whom_to_invite_by_uchastok(dash_duo, city_app):
    """The head of a polyclinic opens «Кого пригласить»: the участки of his organisation, one of them drilled into,
    and the list of that участок's people."""
    sign_in(dash_duo, city_app, "glavvrach")
    open_page(dash_duo, "/prevention?tab=worklist")
    dash_duo.wait_for_element("#prev-areas-table", timeout=20)
    dash_duo.wait_for_element("#prev-worklist-table-csv", timeout=20)
    target = click_fresh(dash_duo, "#prev-areas-table td[data-dash-column='name']",
                         lambda xs: next((x for x in xs if x.text != "Участок не указан"), None))
    wait_url(dash_duo, "level=doctor")
    wait_text(dash_duo, "#prev-subtitle", target)
    wait_text(dash_duo, "#prev-worklist-table", target)  # the участок column names its doctor
    assert "tab=worklist" in dash_duo.driver.current_url
    assert clean_log(dash_duo) == []


def test_morbidity_tile_map_and_icd_drill(dash_duo, city_app):
    sign_in(dash_duo, city_app, "chair")
    d = dash_duo.driver
    open_page(dash_duo, "/morbidity?period=2026-Q2")
    wait_text(dash_duo, "#morb-answer", "Город")
    circulatory = next(x for x in dash_duo.find_elements("#morb-tree-table td[data-dash-column='name']")
                       if "кровообращения" in x.text)
    click(dash_duo, circulatory)
    wait_url(dash_duo, "icd=9")
    wait_text(dash_duo, "#morb-icd-crumbs", "IX.")
    d.execute_script("document.getElementById('morb-tiles').scrollIntoView({block: 'center'});")
    click_bar(dash_duo, "morb-tiles", 0)  # a tile of the map is a district
    wait_url(dash_duo, "level=district")
    wait_text(dash_duo, "#morb-answer", "с учётом возраста")
    assert "icd=9" in d.current_url
    assert clean_log(dash_duo) == []


@pytest.mark.parametrize("login", ["kolpino", "glavvrach"])
def test_every_page_opens_on_the_persons_own_unit(dash_duo, city_app, login):
    """A district head lands on his district, an MO head on his organisation — on every page, with no parameters."""
    from data_access import units as U
    places = city_app.places[login]
    with city_app.app_context():
        district = U.unit("district", places["district_id"]).name
        own = U.unit("mo", places["mo_id"]).name if places["mo_id"] else district
        card = U.organisations().set_index("mo_id").loc[places["mo_id"], "name"] if places["mo_id"] else district
    sign_in(dash_duo, city_app, login)
    d = dash_duo.driver
    wait_text(dash_duo, "#home-title", own)
    for path, prefix in (("/emk", "emk"), ("/access", "acc"), ("/pregnancy", "preg"), ("/morbidity", "morb"),
                         ("/prevention", "prev"), ("/registers", "reg")):
        open_page(dash_duo, path)
        wait_text(dash_duo, f"#{prefix}-subtitle", own)
        wait_text(dash_duo, f"#{prefix}-breadcrumbs", district)
        assert "Санкт-Петербург" in d.find_element(By.ID, f"{prefix}-breadcrumbs").text
    open_page(dash_duo, "/indicator/emk_coverage")
    wait_text(dash_duo, "#breadcrumbs", own)
    open_page(dash_duo, "/unit")
    wait_text(dash_duo, "#unit-title", card)
    open_page(dash_duo, "/rating")  # the organisations of his district (an MO head: of his organisation's kind)
    wait_text(dash_duo, "#rating-title", district)
    wait_text(dash_duo, "#rating-table", own if places["mo_id"] else "")
    assert clean_log(dash_duo) == []


def test_registers_from_the_district_to_the_failed_hba1c_cases(dash_duo, city_app):
    """A district manager opens the registers on his district: the organisations with their diabetics' control,
    drills into an organisation and one of its doctors (the doctor's patients), opens the quality tab and, from the
    HbA1c criterion's figure, the failed cases behind it."""
    sign_in(dash_duo, city_app, "kolpino")
    d = dash_duo.driver
    open_page(dash_duo, "/registers")
    wait_text(dash_duo, "#reg-subtitle", "Колпинский")
    wait_text(dash_duo, "#reg-units-table", "Сахарный диабет по организациям")
    wait_text(dash_duo, "#reg-units-table", "Целевой показатель достигнут, %")
    names = dash_duo.find_elements("#reg-units-table td[data-dash-column='name']")
    assert names
    organisation = names[0].text  # the worst at keeping HbA1c under 7 % comes first
    click(dash_duo, names[0])
    wait_url(dash_duo, "level=mo")
    wait_text(dash_duo, "#reg-subtitle", organisation)
    wait_text(dash_duo, "#reg-units-table", "Сахарный диабет по врачам")
    doctors = dash_duo.find_elements("#reg-units-table td[data-dash-column='name']")
    assert doctors
    doctor = doctors[0].text
    click(dash_duo, doctors[0])
    wait_url(dash_duo, "level=doctor")
    wait_text(dash_duo, "#reg-subtitle", doctor)
    wait_text(dash_duo, "#reg-breadcrumbs", organisation)
    dash_duo.wait_for_element("#reg-patients-table-csv", timeout=20)  # the doctor's patients, for a district head
    assert dash_duo.find_elements("#reg-patients-table td[data-dash-column='patient_id']")
    tab = next(x for x in dash_duo.find_elements("#reg-tab a.nav-link") if "Качество" in x.text)
    click(dash_duo, tab)
    wait_url(dash_duo, "tab=quality")
    dash_duo.wait_for_element("#quality-criteria-table", timeout=20)
    # up to the district by the breadcrumbs (the tab is kept), then one click on the HbA1c criterion's figure
    click(dash_duo, d.find_element(By.LINK_TEXT, "Колпинский"))
    wait_url(dash_duo, "level=district")
    assert "tab=quality" in d.current_url
    hba1c = next(x for x in dash_duo.find_elements("#quality-criteria-table tr")
                 if "гликированного гемоглобина" in x.text)
    click(dash_duo, hba1c.find_element(By.CSS_SELECTOR, "td[data-dash-column='failed']"))
    wait_url(dash_duo, "criterion=dm_hba1c")
    wait_text(dash_duo, "#quality-criterion", "гликированного гемоглобина")
    wait_text(dash_duo, "#quality-criterion-units-table", "по организациям")
    dash_duo.wait_for_element("#quality-cases-table-csv", timeout=20)
    results = {x.text for x in dash_duo.find_elements("#quality-cases-table td[data-dash-column='result']")}
    assert results and results <= {"не выполнено", "не выполнено, указана причина"}
    # the organisations behind the figure lead further down with the criterion kept
    first = dash_duo.find_elements("#quality-criterion-units-table td[data-dash-column='name']")[0]
    target = first.text
    click(dash_duo, first)
    wait_url(dash_duo, "level=mo")
    wait_text(dash_duo, "#reg-subtitle", target)
    assert "criterion=dm_hba1c" in d.current_url
    dash_duo.wait_for_element("#quality-criterion", timeout=20)
    assert clean_log(dash_duo) == []
