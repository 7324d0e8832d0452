"""A person's record, in a real browser: a relative invited, editing, and losing access; a
conflict between two devices shown and resolved by a person."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlmodel import Session

from app.device import settings, store
from app.device.db import open_engine
from sync.validators import format_date_vn as vn
from tests.e2e.pages import (
    JOURNEY,
    SeededServer,
    copied_code,
    declare_and_send,
    declare_basic,
    holds,
    join_ward,
    open_app,
    phones,
    press_until,
    seen,
    start_declaring,
    type_into,
)
from tests.factories import PASSWORD, signed_in_device

pytestmark = JOURNEY


def test_a_conflict_is_shown_and_resolved_by_a_person(browser, app_url, live_server, tmp_path,
                                                      run):
    """The app's device and a ward collaborator's tablet rename the same person differently
    while apart. The profile edit on the app's device is made through the store's own
    ``update_document`` (the profile screen is the citizen-app issue's); the rest is the UI."""
    page = open_app(browser, app_url)
    join_ward(page, live_server.campaign_code)
    start_declaring(page)
    declare_basic(page, "Trần Văn Bình", "1952", "Nam")
    expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible()

    live_server.admin("users", "add", "0906000001", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    tablet = run(signed_in_device(live_server.url, tmp_path, "0906000001", signup=False))
    run(tablet.sync())
    # The app's device edits first, while the server still has only the first version: its own
    # scheduled rounds (backing off from the rounds before the code was scanned) may push the
    # edit before or after the tablet's, and either order opens the same conflict. Editing after
    # the tablet's push raced those rounds: a pull landing in between made it a plain successor.
    engine = open_engine(tmp_path / "device" / "hssk.db")
    with Session(engine) as session:
        [person] = [row.id for row in store.records_of_kind(session, "person")]
        device_id, _ = settings.device_identity(session)
        store.update_document(session, person, {"full_name": "Trần Văn Binh"},
                              device_id=device_id)
        session.commit()
    engine.dispose()
    tablet.edit(person, full_name="Trần Văn Bính")
    run(tablet.sync())
    try:
        page.get_by_role("button", name="Đồng bộ ngay").click()
        card = page.get_by_role("group", name=re.compile("Hai máy đã sửa khác nhau"))
        expect(card).to_be_visible()
        expect(seen(page, "Chỗ cần chọn: 1")).to_be_visible()
        expect(card.get_by_role("button", name="Chọn: Trần Văn Bính")).to_be_visible()
        card.get_by_role("button", name="Chọn: Trần Văn Binh").click()
        expect(page.get_by_role("button", name=re.compile("^Chọn: "))).to_have_count(0)
        expect(seen(page, "Thay đổi chờ gửi: 0")).to_be_visible()
        expect(seen(page, "Trần Văn Binh")).to_be_visible()

        run(tablet.sync())
        row = tablet.held()[person]
        assert (row.payload["full_name"], row.conflicts) == ("Trần Văn Binh", [])
    finally:
        run(tablet.close())


def test_a_relative_is_invited_edits_and_loses_access(browser, tmp_path):
    """Two phones: the mother shows an invite code, the son's phone redeems it and receives her
    record, adds a vaccination (entered by a relative), the mother sees it; her clinic sends a
    vaccination by FHIR and both phones show it, attributed and read-only; then she withdraws
    his access, and the record leaves the son's phone at its next sync."""
    server = SeededServer.make(tmp_path)
    shot_day = vn(datetime.now().astimezone().date() - timedelta(days=3))
    clinic_date = datetime.now().astimezone().date() - timedelta(days=10)
    clinic_iso, clinic_day = clinic_date.isoformat(), vn(clinic_date)
    with server.serve(), contextlib.ExitStack() as stack:
        [mother] = phones(browser, server, stack, tmp_path, "mother")
        # The son's phone is fresh from the store: he has no ward sheet, only her message.
        [son] = phones(browser, server, stack, tmp_path, "son", joined=False)

        start_declaring(mother)
        declare_and_send(mother, "Lê Thị Mẹ", "1950")
        mother.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        mother.get_by_role("button", name="Mời người thân quản lý hồ sơ").click()
        expect(seen(mother, "Mã dùng một lần")).to_be_visible()
        invite = copied_code(mother)
        mother.get_by_role("button", name="Chép đường dẫn").click()
        expect(seen(mother, "Đã chép. Dán vào Zalo")).to_be_visible()

        damaged = invite[:-6] + "AAAAAA"
        type_into(son, "Mã QR (dán vào đây)", damaged, paste=True)
        son.get_by_role("button", name="Kiểm tra mã").click()
        expect(seen(son, "Mã QR bị hỏng")).to_be_visible()    # a damaged code: refused, said why
        # The invite pasted on the first screen: the phone joins her ward (named in the signed
        # code) and the invite waits on the accept screen.
        type_into(son, "Mã QR (dán vào đây)", invite, paste=True)
        son.get_by_role("button", name="Kiểm tra mã").click()
        expect(holds(son, "Mã mời hoặc mã bàn giao (dán vào đây)")).to_have_value(invite)
        son.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(son, "Đã nhận hồ sơ của Lê Thị Mẹ")).to_be_visible()
        # Her screen stops showing a code that no longer works, and says who took it.
        expect(mother.get_by_role("img", name="Mời người thân quản lý hồ sơ")).to_have_count(0)
        expect(seen(mother, "đã nhận lời mời")).to_be_visible()
        son.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        expect(seen(son, "Hồ sơ của người thân")).to_be_visible()
        son.get_by_role("button", name="Thêm mũi tiêm").click()
        type_into(son, "Tên vắc-xin", "Cúm mùa")
        type_into(son, "Ngày tiêm (dd/mm/yyyy)", shot_day)
        son.get_by_role("button", name="Lưu", exact=True).click()
        expect(seen(son, "Người nhập: người thân · đã gửi")).to_be_visible()

        mother.get_by_role("button", name="Trang chính").click()
        mother.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(mother, "Thay đổi chờ gửi: 0")).to_be_visible()
        mother.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        expect(seen(mother, f"Cúm mùa — {shot_day}")).to_be_visible()
        expect(seen(mother, "Người nhập: người thân")).to_be_visible()

        # Her ward's clinic sends the hepatitis B shot it gave her and the diagnosis it made
        # (FHIR): found by her name and birth year in its ward, they reach both phones at their
        # next sync, under the clinic's name, read-only.
        assert server.clinic_sends([
            {"resourceType": "Patient", "id": "bn-1", "name": [{"text": "Lê Thị Mẹ"}],
             "gender": "female", "birthDate": "1950"},
            {"resourceType": "Immunization", "id": "tiem-1", "status": "completed",
             "vaccineCode": {"text": "Viêm gan B"}, "patient": {"reference": "urn:uuid:bn-1"},
             "occurrenceDateTime": clinic_iso, "location": {"display": "Trạm Y tế phường"}},
            {"resourceType": "Condition", "id": "cd-1", "subject": {"reference": "urn:uuid:bn-1"},
             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}],
                      "text": "Tăng huyết áp"}, "recordedDate": clinic_iso},
        ], title="Trạm Y tế phường Bến Nghé") == ["200 OK", "201 Created", "201 Created"]
        for phone in (mother, son):
            phone.get_by_role("button", name="Trang chính").click()
            phone.get_by_role("button", name="Đồng bộ ngay").click()
            expect(seen(phone, "Thay đổi chờ gửi: 0")).to_be_visible()
            phone.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
            expect(seen(phone, "Từ Trạm Y tế phường Bến Nghé")).to_be_visible()
            expect(seen(phone, f"Viêm gan B — {clinic_day}")).to_be_visible()
            expect(seen(phone, "Chẩn đoán: Tăng huyết áp (I10) — đang mắc")).to_be_visible()
            expect(seen(phone, "Người nhập: Trạm Y tế phường Bến Nghé · đã gửi")).to_be_visible()
            expect(seen(phone, "Do Trạm Y tế phường Bến Nghé gửi: chỉ nơi đó sửa được.")
                   ).to_be_visible()
            # Her own shot can be corrected; the clinic's offers no such button.
            expect(phone.get_by_role("button", name="Đính chính", exact=True)).to_have_count(1)

        # She says the diagnosis is wrong ("Báo sai"); the clinic reads it and answers; her
        # phone shows the answer after its next sync.
        press_until(mother.get_by_role("button", name="Báo sai").first,
                    mother.get_by_role("textbox", name="Điều gì chưa đúng?"))
        type_into(mother, "Điều gì chưa đúng?", "Tôi không bị tăng huyết áp")
        mother.get_by_role("button", name="Gửi báo sai").click()
        expect(seen(mother, "Đã báo sai: chờ Trạm Y tế phường Bến Nghé trả lời")).to_be_visible()
        mother.get_by_role("button", name="Trang chính").click()
        mother.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(mother, "Thay đổi chờ gửi: 0")).to_be_visible()
        assert server.clinic_answers("rejected", "Đã đo lại 3 lần, đều cao") == 1
        mother.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(mother, "Thay đổi chờ gửi: 0")).to_be_visible()
        mother.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        expect(seen(mother, "Trạm Y tế phường Bến Nghé giữ nguyên")).to_be_visible()
        expect(seen(mother, "Trả lời: Đã đo lại 3 lần, đều cao")).to_be_visible()
        mother.get_by_role("button", name="Ai đang có quyền?").click()
        mother.get_by_role("button", name="Thu hồi quyền: máy của người thân").click()
        expect(seen(mother, "Đã thu hồi quyền")).to_be_visible()
        expect(seen(mother, "Chưa người thân nào có quyền")).to_be_visible()

        # The son's phone may have closed the record by itself already (a scheduled round
        # brought the revocation, "chủ hồ sơ đã thu hồi quyền"); else he goes home.
        with contextlib.suppress(PlaywrightTimeout):
            son.get_by_role("button", name="Trang chính").click(timeout=5000)
        son.get_by_role("button", name="Đồng bộ ngay").click()
        expect(son.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ")).to_have_count(0)
        expect(seen(mother, f"Cúm mùa — {shot_day}")).to_be_visible()   # hers, still
        # The same code again: used once already.
        # Just after the round took her record away the home screen is re-laid out: a tap can
        # land on the old layout and be dropped (a person taps again).
        press_until(son.get_by_role("button", name="Nhận lời mời hoặc mã bàn giao"),
                    son.get_by_role("textbox", name="Mã mời hoặc mã bàn giao (dán vào đây)"))
        type_into(son, "Mã mời hoặc mã bàn giao (dán vào đây)", invite, paste=True)
        son.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(son, "Lời mời này đã được dùng")).to_be_visible()
