"""A collaborator's tablet, in a real browser: declaring for a resident and handing the record
over; three households captured offline, then synced."""

from __future__ import annotations

import contextlib
import re

import httpx
from playwright.sync_api import expect

from tests.e2e.pages import (
    JOURNEY,
    SeededServer,
    add_household,
    copied_code,
    declare_and_send,
    holds,
    phones,
    seen,
    shot,
    sign_in,
    type_into,
)
from tests.processes import hssk_server

pytestmark = JOURNEY


def test_a_collaborator_declares_for_a_resident_and_hands_the_record_over(browser, tmp_path):
    """The ward's collaborator signs in on a tablet, declares for an elderly resident, and hands
    the record to the resident's own phone, which then owns it (and may invite relatives); the
    tablet keeps it through its area."""
    server = SeededServer.make(tmp_path)
    hssk_server("users", "add", "0977000002", "--role", "collaborator", "--area", "26734",
                "--password", "mật khẩu cộng tác", data_dir=server.data_dir, env=server.env)
    with server.serve(), contextlib.ExitStack() as stack:
        tablet, resident = phones(browser, server, stack, tmp_path, "tablet", "resident")

        tablet.get_by_role("button", name="Đăng nhập tài khoản có sẵn").click()
        type_into(tablet, "Số điện thoại", "0977000002")
        type_into(tablet, "Mật khẩu (ít nhất 8 ký tự)", "sai mật khẩu")
        tablet.get_by_role("button", name="Đăng nhập", exact=True).click()
        expect(seen(tablet, "Số điện thoại hoặc mật khẩu chưa đúng.")).to_be_visible()
        type_into(tablet, "Mật khẩu (ít nhất 8 ký tự)", "mật khẩu cộng tác")
        tablet.get_by_role("button", name="Đăng nhập", exact=True).click()
        expect(seen(tablet, "Đã đăng nhập: 0977000002")).to_be_visible()
        add_household(tablet, "5 Lê Lợi", "Tổ dân phố 1 (demo)")
        tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
        declare_and_send(tablet, "Bà Năm", "1944")
        tablet.get_by_role("button", name="Xem hồ sơ: Bà Năm").click()
        tablet.get_by_role("button", name="Bàn giao cho người dân").click()
        expect(seen(tablet, "hồ sơ sẽ thuộc về họ")).to_be_visible()
        code = copied_code(tablet)

        resident.get_by_role("button", name="Nhận lời mời hoặc mã bàn giao").click()
        type_into(resident, "Mã mời hoặc mã bàn giao (dán vào đây)", code, paste=True)
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        # A handover asks who is taking the record: the person's date of birth, checked by
        # the server against the record (a wrong one is refused, the code kept for a retry).
        expect(seen(resident, "Hãy nhập ngày sinh của người có hồ sơ")).to_be_visible()
        type_into(resident, "Ngày sinh của người có hồ sơ (ngày/tháng/năm)", "1945")
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(resident, "Ngày sinh không khớp với hồ sơ")).to_be_visible()
        type_into(resident, "Ngày sinh của người có hồ sơ (ngày/tháng/năm)", "1944")
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(resident, "Đã nhận hồ sơ của Bà Năm")).to_be_visible()
        resident.get_by_role("button", name="Xem hồ sơ: Bà Năm").click()
        expect(seen(resident, "Người nhập: cộng tác viên")).to_be_visible()
        # Hers now: she may invite her family (a relative's copy would not offer this).
        expect(resident.get_by_role("button", name="Mời người thân quản lý hồ sơ")
               ).to_be_visible()

        tablet.get_by_role("button", name="Trang chính").click()
        tablet.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(tablet, "Thay đổi chờ gửi: 0")).to_be_visible()
        tablet.get_by_role("button", name="Mở hộ: 5 Lê Lợi").click()
        expect(tablet.get_by_role("button", name="Xem hồ sơ: Bà Năm")).to_be_visible()

        # Her rights over her data: what she agreed to (the collaborator's help, when he
        # declared for her), who has seen her record (him, by his work in the ward), and a
        # request to erase it, which an administrator confirms.
        expect(seen(resident, "Đồng ý để cộng tác viên khai báo giúp")).to_be_visible()
        resident.get_by_role("button", name="Ai đã xem hồ sơ của tôi?").click()
        expect(seen(resident, "Cộng tác viên phường 0977***002: đã xem")).to_be_visible()
        resident.get_by_role("button", name="Yêu cầu xóa hồ sơ").click()
        type_into(resident, "Lý do (không bắt buộc)", "Tôi chuyển đi nơi khác")
        resident.get_by_role("button", name="Gửi yêu cầu xóa").click()
        expect(seen(resident, "Đã gửi yêu cầu xóa")).to_be_visible()
        listed = hssk_server("persons", "erase-requests", data_dir=server.data_dir,
                             env=server.env)
        assert "Tôi chuyển đi nơi khác" in listed
        person_id = listed.split()[1]
        hssk_server("persons", "erase", person_id, "--reason", "chủ hồ sơ yêu cầu",
                    data_dir=server.data_dir, env=server.env)
        tablet.get_by_role("button", name="Về danh sách hộ").click()
        tablet.get_by_role("button", name="Đồng bộ ngay").click()
        tablet.get_by_role("button", name="Mở hộ: 5 Lê Lợi").click()
        expect(tablet.get_by_role("button", name="Xem hồ sơ: Bà Năm")).to_have_count(0)


def test_a_collaborator_captures_three_households_offline_then_syncs(browser, tmp_path):
    """The collaborator signs in on a tablet, then works offline: three households (one nobody
    was home at), three residents declared, a second record for the same man caught before it
    is made, the list counted and searched without diacritics. Back online, one sync sends it
    all, and the ward's supervisor counts the three households."""
    server = SeededServer.make(tmp_path)
    for phone, role, area in (("0977000003", "collaborator", "26734"),
                              ("0977000004", "supervisor", "79")):
        hssk_server("users", "add", phone, "--role", role, "--area", area, "--password",
                    "mật khẩu tổ phố", data_dir=server.data_dir, env=server.env)
    with contextlib.ExitStack() as stack:
        with server.serve():
            [tablet] = phones(browser, server, stack, tmp_path, "tablet")
            tablet.set_viewport_size({"width": 1280, "height": 800})  # a tablet, landscape
            sign_in(tablet, "0977000003", "mật khẩu tổ phố")
            expect(seen(tablet, "Chưa khai báo: 0")).to_be_visible()
        # The server is gone: days of work offline.
        visits = [("1 Lê Lợi", "Tổ dân phố 1 (demo)", [("Ông Một", "1948", "Nam"),
                                                       ("Bà Một", "1950", "Nữ")]),
                  ("2 Lê Lợi", "Tổ dân phố 1 (demo)", [("Cô Hai", "12/05/1985", "Nữ")]),
                  ("7 Pastuer", "Tổ dân phố 2 (demo)", [])]
        for address, group, residents in visits:
            add_household(tablet, address, group)
            for name, born, sex in residents:
                tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
                type_into(tablet, "Họ và tên", name)
                type_into(tablet, "Ngày sinh", born)
                tablet.get_by_role("radio", name=sex, exact=True).click()
                tablet.get_by_role("button", name="Lưu khai báo").click()
                expect(tablet.get_by_role("button", name=f"Xem hồ sơ: {name}")).to_be_visible()
            tablet.get_by_role("button", name="Về danh sách hộ").click()
        # A typo in the last address, corrected.
        tablet.get_by_role("button", name="Mở hộ: 7 Pastuer").click()
        tablet.get_by_role("button", name="Sửa địa chỉ hộ").click()
        type_into(tablet, "Địa chỉ của hộ", "7 Pasteur")
        tablet.get_by_role("button", name="Lưu hộ").click()
        expect(tablet.get_by_role("heading", name="7 Pasteur").or_(
            tablet.get_by_text("7 Pasteur", exact=True)).first).to_be_visible()
        tablet.get_by_role("button", name="Về danh sách hộ").click()

        # At number 2 someone declares "Ông Một" again: the tablet already holds him.
        tablet.get_by_role("button", name="Mở hộ: 2 Lê Lợi").click()
        tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
        type_into(tablet, "Họ và tên", "ông một")
        type_into(tablet, "Ngày sinh", "1948")
        tablet.get_by_role("radio", name="Nam", exact=True).click()
        tablet.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(tablet, "Có thể đã có hồ sơ của người này:")).to_be_visible()
        tablet.get_by_role("button", name="Mở hồ sơ đã có: Ông Một").click()
        expect(seen(tablet, "Người nhập: cộng tác viên")).to_be_visible()
        tablet.get_by_role("button", name="Trang chính").click()

        expect(seen(tablet, "Chưa khai báo: 1")).to_be_visible()
        expect(seen(tablet, "Đã khai báo: 2")).to_be_visible()
        # 3 households, 1 address corrected, 3 declarations (each with its person): 7 saves
        expect(seen(tablet, "Thay đổi chờ gửi: 7")).to_be_visible()
        shot(tablet, "8-households-tablet")
        type_into(tablet, "Tìm theo tên, địa chỉ hoặc số CCCD", "ba mot")
        tablet.get_by_role("button", name="Tìm", exact=True).click()
        expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_be_visible()
        expect(tablet.get_by_role("button", name="Mở hộ: 7 Pasteur")).to_have_count(0)
        tablet.get_by_role("button", name="Bỏ tìm").click()
        tablet.get_by_role("button", name="Tổ dân phố 2 (demo)").click()
        expect(tablet.get_by_role("button", name="Mở hộ: 7 Pasteur")).to_be_visible()
        expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_have_count(0)

        with server.serve():
            tablet.get_by_role("button", name="Đồng bộ ngay").click()
            expect(seen(tablet, "Thay đổi chờ gửi: 0")).to_be_visible()
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
                token = http.post("/v1/auth/login", json={
                    "phone": "0977000004", "password": "mật khẩu tổ phố",
                    "device_id": "supervisor-laptop"}).json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                ward = http.get("/v1/areas/26734/report", headers=auth).json()["area"]
                visits = http.get("/v1/areas/26734/visits", headers=auth).json()
            assert (visits["total"], ward["persons"], ward["declared"]) == (3, 3, 3)
            # A clinic sends a patient whose CCCD says another birth year and sex: the server
            # does not guess, and the ward's queue on the tablet asks the collaborator.
            assert server.clinic_sends([
                {"resourceType": "Patient", "id": "bn-9", "name": [{"text": "Bà Tư"}],
                 "gender": "female", "birthDate": "1950-02-03",
                 "identifier": [{"system": "https://hssk.vn/fhir/sid/cccd",
                                 "value": "079048001234"}]}],
                title="Phòng khám Đa khoa Quận 1") == ["202 Accepted"]
            tablet.get_by_role("button", name="Hồ sơ cần ghép").click()
            expect(seen(tablet, "Gửi từ: Phòng khám Đa khoa Quận 1")).to_be_visible()
            expect(seen(tablet, "Số CCCD không khớp năm sinh hoặc giới tính.")).to_be_visible()
            expect(seen(tablet, "Bà Tư · Sinh 03/02/1950 · Nữ")).to_be_visible()
            tablet.get_by_role("button", name="Không phải ai ở trên: tạo hồ sơ mới").click()
            expect(seen(tablet, "Đã tạo hồ sơ mới.")).to_be_visible()
            expect(seen(tablet, "Không có hồ sơ nào cần ghép.")).to_be_visible()
            tablet.get_by_role("button", name="Về danh sách hộ").click()
            # The tablet is handed on: signing out takes the residents off it.
            tablet.get_by_role("button", name="Cài đặt").click()
            tablet.get_by_role("button", name="Đăng xuất").click()
            expect(seen(tablet, "Đã đăng xuất.")).to_be_visible()
            tablet.get_by_role("button", name="Trang chính").click()
            expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_have_count(0)
            expect(seen(tablet, "Ông Một")).to_have_count(0)


def test_a_tablet_fed_only_by_the_registry_declares_for_a_resident_who_never_did(
        browser, tmp_path):
    """Before anyone types: the residents registry names the ward's residents, the
    collaborator's tablet lists who has not declared yet (not those who died), and the
    collaborator walks to one of them and declares for him, starting from who he is on record."""
    server = SeededServer.make(tmp_path)
    for phone, role, area in (("0977000005", "collaborator", "26734"),
                              ("0977000006", "supervisor", "79")):
        hssk_server("users", "add", phone, "--role", role, "--area", area, "--password",
                    "mật khẩu tổ phố", data_dir=server.data_dir, env=server.env)
    registry = tmp_path / "residents.csv"
    registry.write_text(
        "cccd,full_name,birth_date,sex,household_id,address,group_code,event\n"
        "079048001111,Trần Văn Tám,1948-02-03,nam,HK-1,12 Lê Thánh Tôn,26734-01,\n"
        "079150002222,Lê Thị Chín,1950-09-09,nữ,HK-1,12 Lê Thánh Tôn,26734-01,\n"
        "079160003333,Phạm Thị Mười,1960-10-10,nữ,HK-2,14 Lê Thánh Tôn,26734-02,\n"
        "079040004444,Võ Văn Bốn,1940-04-04,nam,HK-2,14 Lê Thánh Tôn,26734-02,\n"
        "079040004444,Võ Văn Bốn,1940-04-04,nam,HK-2,14 Lê Thánh Tôn,26734-02,died\n")
    out = hssk_server("import", "residents", str(registry), "--as-of", "2026-11-01",
                      data_dir=server.data_dir, env=server.env)
    assert "created × 4" in out and "left × 1" in out, out
    with server.serve(), contextlib.ExitStack() as stack:
        [tablet] = phones(browser, server, stack, tmp_path, "tablet")
        tablet.set_viewport_size({"width": 1280, "height": 800})  # a tablet, landscape
        sign_in(tablet, "0977000005", "mật khẩu tổ phố")
        # Never declared counts as overdue, as in the supervisors' figures; each card says
        # how many of its residents the registry names who never declared.
        expect(seen(tablet, "Quá hạn: 2")).to_be_visible()
        expect(seen(tablet, "2 người trong danh sách dân cư chưa khai báo")).to_be_visible()
        expect(seen(tablet, "1 người trong danh sách dân cư chưa khai báo")).to_be_visible()
        tablet.get_by_role("button", name="Mở hộ: 14 Lê Thánh Tôn").click()
        expect(seen(tablet, "Phạm Thị Mười")).to_be_visible()
        expect(seen(tablet, "Võ Văn Bốn")).to_have_count(0)  # died: off the list
        tablet.get_by_role("button", name="Về danh sách hộ").click()

        tablet.get_by_role("button", name="Mở hộ: 12 Lê Thánh Tôn").click()
        waiting = tablet.get_by_role("group", name=re.compile(
            "Có trong danh sách dân cư — chưa khai báo"))
        expect(waiting).to_have_count(2)  # each resident's card says so
        tablet.get_by_role("button", name="Xem hồ sơ: Trần Văn Tám").click()
        tablet.get_by_role("button", name="Cập nhật khai báo").click()
        # The form starts from who he is on record: nothing to type again.
        expect(holds(tablet, "Họ và tên")).to_have_value("Trần Văn Tám")
        expect(holds(tablet, "Ngày sinh")).to_have_value("03/02/1948")
        type_into(tablet, "Huyết áp: số trên", "130")
        type_into(tablet, "Huyết áp: số dưới", "80")
        tablet.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(tablet, "Huyết áp: 130/80")).to_be_visible()
        tablet.get_by_role("button", name="Trang chính").click()
        tablet.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(tablet, "Thay đổi chờ gửi: 0")).to_be_visible()
        tablet.get_by_role("button", name="Mở hộ: 12 Lê Thánh Tôn").click()
        expect(waiting).to_have_count(1)
        expect(tablet.get_by_role("group", name=re.compile("Lê Thị Chín.*Có trong danh sách"))
               ).to_have_count(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
            token = http.post("/v1/auth/login", json={
                "phone": "0977000006", "password": "mật khẩu tổ phố",
                "device_id": "supervisor-laptop"}).json()["token"]
            ward = http.get("/v1/areas/26734/report",
                            headers={"Authorization": f"Bearer {token}"}).json()["area"]
        assert (ward["persons"], ward["registered"], ward["declared"]) == (3, 3, 1)
