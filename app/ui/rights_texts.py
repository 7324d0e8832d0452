"""The words of a person's rights over their data: consents, who has seen the record, the
request to erase it, the printable summary (merged into ``i18n.CATALOGUE``)."""

from __future__ import annotations

RIGHTS: dict[str, tuple[str, str]] = {
    "consent_notice": (
        "Khi lưu, bạn đồng ý để HSSK lưu giữ và xử lý thông tin sức khỏe này nhằm theo dõi, "
        "nhắc cập nhật và hỗ trợ chăm sóc sức khỏe (Nghị định 13/2023/NĐ-CP). Bạn có thể xem "
        "ai đã xem hồ sơ, tải toàn bộ hồ sơ hoặc yêu cầu xóa bất cứ lúc nào.",
        "By saving, you agree that HSSK keeps and processes this health information to follow "
        "up, remind you to update it and support your care (Decree 13/2023). You can see who "
        "has seen your record, take all of it, or ask for it to be erased at any time."),
    "rights_title": ("Quyền của bạn với dữ liệu", "Your rights over your data"),
    "summary_title": ("Tóm tắt hồ sơ sức khỏe", "Health record summary"),
    "summary_made": ("Lập ngày", "Made on"),
    "export_summary": ("Bản tóm tắt để in (PDF)", "Printable summary (PDF)"),
    "consents_title": ("Bạn đã đồng ý", "What you agreed to"),
    "who_has_seen": ("Ai đã xem hồ sơ của tôi?", "Who has seen my record?"),
    "no_access": ("Chưa ai khác xem hồ sơ này.", "Nobody else has seen this record."),
    "access_you": ("Bạn", "You"),
    "access_role_relative": ("Người thân", "Relative"),
    "access_role_collaborator": ("Cộng tác viên phường", "Ward collaborator"),
    "access_role_supervisor": ("Cán bộ theo dõi", "Supervisor"),
    "access_role_admin": ("Quản trị viên", "Administrator"),
    "access_role_system": ("Hệ thống", "System"),
    "access_role_other": ("Tài khoản", "Account"),
    "access_read": ("{who}: đã xem {n} lần, lần cuối {last}",
                    "{who}: read it {n} times, last on {last}"),
    "access_change": ("{who}: đã thay đổi {n} lần, lần cuối {last}",
                      "{who}: changed it {n} times, last on {last}"),
    "ask_erase": ("Yêu cầu xóa hồ sơ", "Ask to erase this record"),
    "erase_reason": ("Lý do (không bắt buộc)", "Why (optional)"),
    "send_erase": ("Gửi yêu cầu xóa", "Send the request"),
    "erase_sent": ("Đã gửi yêu cầu xóa. Khi cán bộ quản trị xác nhận, hồ sơ sẽ bị xóa khỏi máy "
                   "chủ và khỏi mọi máy đang giữ hồ sơ.",
                   "Request sent. Once an administrator confirms it, the record is erased from "
                   "the server and from every device that holds it."),
    "consent_data_processing": ("Đồng ý xử lý dữ liệu sức khỏe", "Consent to processing"),
    "consent_collaborator_help": ("Đồng ý để cộng tác viên khai báo giúp",
                                  "Consent to a collaborator's help"),
    "consent_family_access": ("Đồng ý cho người thân quản lý hồ sơ",
                              "Consent to a relative's access"),
    "consent_until": ("đến ngày", "until"),
}
