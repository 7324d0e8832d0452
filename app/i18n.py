"""Vietnamese and English strings from one catalogue. Vietnamese first."""

from __future__ import annotations

from sync.errors import Lang

CATALOGUE: dict[str, tuple[str, str]] = {
    "app_title": ("Hồ sơ sức khỏe", "Health record"),
    "welcome": ("Chào mừng bạn đến với Hồ sơ sức khỏe điện tử",
                "Welcome to your electronic health record"),
    "scan_intro": ("Quét hoặc dán mã QR trên tờ hướng dẫn của phường để bắt đầu. Không quét "
                   "được? Nhập mã ngắn in dưới mã QR (ví dụ AB12-CD34-EF56).",
                   "Scan or paste the QR code on your ward's instruction sheet to begin. Cannot "
                   "scan? Type the short code printed under it (e.g. AB12-CD34-EF56)."),
    "code_label": ("Mã QR (dán vào đây)", "QR code (paste here)"),
    "check_code": ("Kiểm tra mã", "Check code"),
    "pick_image": ("Chọn ảnh mã QR", "Choose a QR image"),
    "scan_camera": ("Quét bằng camera", "Scan with the camera"),
    "camera_hint": ("Đưa mã QR vào giữa khung hình, giữ yên máy.",
                    "Hold the QR code in the middle of the frame, and keep still."),
    "camera_failed": ("Không mở được camera. Hãy chọn ảnh chụp tờ hướng dẫn, hoặc nhập mã ngắn.",
                      "The camera could not be opened. Choose a photo of the sheet, or type "
                      "the short code."),
    "camera_gave_up": ("Chưa đọc được mã. Hãy đến chỗ sáng hơn và thử lại, hoặc chọn ảnh.",
                       "The code could not be read yet. Move to better light and try again, or "
                       "choose a photo."),
    "reading_image": ("Đang đọc ảnh…", "Reading the image…"),
    "verified": ("Mã hợp lệ, do phường phát hành", "Genuine code, issued by the ward"),
    "ward": ("Phường", "Ward"),
    "hotline": ("Đường dây nóng", "Hotline"),
    "start_declaring": ("Bắt đầu khai báo", "Start declaring"),
    "declaration_title": ("Khai báo sức khỏe", "Health declaration"),
    "required_note": ("Chỉ cần họ tên, ngày sinh và giới tính; các mục khác có thể bổ sung sau.",
                      "Only name, date of birth and sex are needed; the rest can be added later."),
    "full_name": ("Họ và tên", "Full name"),
    "birth_date": ("Ngày sinh (dd/mm/yyyy hoặc năm sinh)",
                   "Date of birth (dd/mm/yyyy or year)"),
    "sex": ("Giới tính", "Sex"),
    "male": ("Nam", "Male"),
    "female": ("Nữ", "Female"),
    "blood_pressure": ("Huyết áp (ví dụ 120/80)", "Blood pressure (e.g. 120/80)"),
    "save": ("Lưu khai báo", "Save declaration"),
    "saved": ("Đã lưu khai báo trên máy", "Declaration saved on this device"),
    "home_title": ("Hồ sơ của tôi", "My records"),
    "declared_on": ("Khai báo ngày", "Declared on"),
    "born": ("Sinh", "Born"),
    "bp_short": ("Huyết áp", "Blood pressure"),
    "state_synced": ("Đã gửi lên máy chủ", "Sent to the server"),
    "state_pending": ("Chưa gửi — đang chờ kết nối", "Not sent yet — waiting for a connection"),
    "state_rejected": ("Máy chủ từ chối", "Rejected by the server"),
    "sync_now": ("Đồng bộ ngay", "Sync now"),
    "syncing": ("Đang đồng bộ…", "Syncing…"),
    "sync_done": ("Đồng bộ xong", "Sync complete"),
    "pending_count": ("Thay đổi chờ gửi", "Changes waiting"),
    "last_sync": ("Lần đồng bộ gần nhất", "Last sync"),
    "never": ("chưa có", "never"),
    "new_declaration": ("Khai báo thêm", "New declaration"),
    "language": ("English", "Tiếng Việt"),
    "sync_sending": ("Đang gửi", "Sending"),
    "sync_receiving": ("Đang nhận", "Receiving"),
    "records_word": ("bản ghi", "records"),
    "conflict_title": ("Hai máy đã sửa khác nhau — hãy chọn giá trị đúng",
                       "Changed differently on two devices — choose the right value"),
    "choose": ("Chọn", "Choose"),
    "conflicts_count": ("Chỗ cần chọn", "Values to choose"),
    "quarantined_count": ("Thay đổi giữ lại chờ xem xét (đã bị thu hồi quyền)",
                          "Changes kept for review (access was withdrawn)"),
    "empty_value": ("(để trống)", "(blank)"),
    "phone": ("Số điện thoại", "Phone number"),
    "address": ("Địa chỉ", "Address"),
    "occupation": ("Nghề nghiệp", "Occupation"),
    "ethnicity": ("Dân tộc", "Ethnicity"),
    "cccd": ("Số CCCD", "Citizen ID"),
    "bhyt": ("Số BHYT", "Health insurance number"),
}


def field_label(name: str, lang: Lang = "vi") -> str:
    """A record field's name for people; the field's own name where none is catalogued."""
    return t(name, lang) if name in CATALOGUE else name


def t(key: str, lang: Lang = "vi") -> str:
    """The string for ``key`` in ``lang``."""
    vi, en = CATALOGUE[key]
    return vi if lang == "vi" else en
