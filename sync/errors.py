"""The error tree. Every error carries a stable code and a message in Vietnamese and English.

    HsskError
    ├── InvalidValue          a value the user typed is wrong (also a ValueError for pydantic)
    ├── QrError               a scanned or pasted code cannot be trusted
    │   ├── QrNotOurs         not an HSSK code at all (no "HS1:" prefix)
    │   ├── QrMalformed       HS1 prefix but the layers do not decode
    │   ├── QrUnknownKey      signed by a key this app does not trust
    │   ├── QrBadSignature    signature does not match (tampered or re-signed)
    │   ├── QrExpired         past its expiry date
    │   ├── QrNotYetValid     issued in the future
    │   ├── QrWrongType       a valid code, but not the kind expected here
    │   └── QrOtherServer     a valid code for another server than this device's
    ├── UnknownShortCode      a typed short code that no campaign has
    ├── InviteRefused         an invite the server will not honour (used, expired, unknown)
    ├── InviteNeedsWard       an invite opened first on a phone that knows no ward (old code)
    ├── NotAGuardian          a guardian slip redeemed from a number the school did not list
    ├── AgeRefused            a guardian slip for a student of 18, a claim before 18
    ├── WrongPassword         signing in: the phone number or password is wrong
    ├── DeviceHoldsRecords    signing in on a device that holds its own records
    ├── InstitutionalRecord   a record a health facility sent: only it may correct it
    ├── PhoneTaken            another account already has this phone number
    ├── AccountHasPhone       this device's account already has a phone number
    ├── ImageUnreadable       not an image, truncated, or too large to decode safely
    ├── NoCodeInImage         an image with no QR code we could read
    └── SyncError             a sync round did not complete; the outbox is kept
        ├── ServerUnreachable no connection to the server
        ├── NotRegistered     the device has no credentials yet
        ├── AuthRejected      the server refused the device's credentials
        ├── BatchConflict     the server holds a different body under the same batch id
        └── ServerRejected    the server answered with an error
"""

from __future__ import annotations

from typing import ClassVar, Literal

Lang = Literal["vi", "en"]


class HsskError(Exception):
    """Base of every error HSSK raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en

    def message(self, lang: Lang = "vi") -> str:
        """The message for the user, in their language."""
        return self.vi if lang == "vi" else self.en


class InvalidValue(HsskError, ValueError):
    """A value typed into a field is invalid; ``field`` names it so the form can show it beside."""

    code = "invalid_value"

    def __init__(self, field: str, vi: str, en: str) -> None:
        super().__init__(vi, en)
        self.field = field



class FormInvalid(Exception):
    """The form has errors; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, InvalidValue]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors

class QrError(HsskError):
    """A scanned or pasted code cannot be trusted; nothing from it is used."""

    code = "qr_error"


class QrNotOurs(QrError):
    """The text is not an HSSK code."""

    code = "qr_not_ours"

    def __init__(self) -> None:
        super().__init__(
            "Đây không phải mã QR của chương trình Hồ sơ sức khỏe.",
            "This is not a health record programme QR code.",
        )


class QrMalformed(QrError):
    """The code claims to be ours but its layers do not decode."""

    code = "qr_malformed"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Mã QR bị hỏng hoặc không đầy đủ ({detail}).",
            f"The QR code is damaged or incomplete ({detail}).",
        )
        self.detail = detail


class QrUnknownKey(QrError):
    """Signed by a key the app does not pin."""

    code = "qr_unknown_key"

    def __init__(self, kid: str) -> None:
        super().__init__(
            "Mã QR được ký bởi một đơn vị không xác định. Không dùng mã này.",
            "The QR code was signed by an unknown issuer. Do not use it.",
        )
        self.kid = kid


class QrBadSignature(QrError):
    """The signature does not verify: the code was altered or signed by someone else."""

    code = "qr_bad_signature"

    def __init__(self) -> None:
        super().__init__(
            "Chữ ký của mã QR không hợp lệ: mã đã bị sửa đổi. Không dùng mã này.",
            "The QR code's signature is invalid: the code was altered. Do not use it.",
        )


class QrExpired(QrError):
    """The code is past its expiry."""

    code = "qr_expired"

    def __init__(self, expired_on: str) -> None:
        super().__init__(
            f"Mã QR đã hết hạn từ ngày {expired_on}. Hãy xin tờ hướng dẫn mới tại phường.",
            f"The QR code expired on {expired_on}. Ask your ward for a new instruction sheet.",
        )


class QrNotYetValid(QrError):
    """The code's issue time lies in the future."""

    code = "qr_not_yet_valid"

    def __init__(self, valid_from: str) -> None:
        super().__init__(
            f"Mã QR chỉ có hiệu lực từ ngày {valid_from}.",
            f"The QR code is only valid from {valid_from}.",
        )


class QrWrongType(QrError):
    """A genuine code of another kind than the screen expects."""

    code = "qr_wrong_type"

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(
            f"Đây là mã loại “{got}”, không phải mã “{expected}” cần dùng ở đây.",
            f"This is a “{got}” code, not the “{expected}” code needed here.",
        )


class QrOtherServer(QrError):
    """A genuine code, but for another server than the one this device already uses."""

    code = "qr_other_server"

    def __init__(self, server: str) -> None:
        super().__init__(
            f"Mã QR này thuộc máy chủ khác ({server}), không phải máy chủ máy này đang dùng. "
            "Hãy hỏi đường dây nóng của phường.",
            f"This QR code belongs to another server ({server}) than the one this device uses. "
            "Please call your ward's hotline.",
        )


class ShortCodeNeedsConnection(HsskError):
    """A short code is looked up on the server: without a connection there is nothing to join,
    and nothing was saved (unlike a declaration made offline)."""

    code = "short_code_needs_connection"

    def __init__(self) -> None:
        super().__init__(
            "Mã ngắn cần kết nối mạng để tra cứu. Hãy bật mạng rồi thử lại, hoặc quét mã QR "
            "(không cần mạng).",
            "A short code is looked up online. Connect to the internet and try again, or scan "
            "the QR code (no connection needed).",
        )


class UnknownShortCode(HsskError):
    """No campaign has the short code typed from a sheet."""

    code = "unknown_short_code"

    def __init__(self, short_code: str) -> None:
        super().__init__(
            f"Không tìm thấy mã {short_code}. Hãy kiểm tra lại mã in dưới mã QR, hoặc gọi "
            "đường dây nóng của phường.",
            f"No campaign has the code {short_code}. Check the code printed under the QR code, "
            "or call your ward's hotline.",
        )


class BirthDateNeeded(HsskError):
    """A handover code asks the resident to confirm the person's date of birth."""

    code = "birth_date_needed"

    def __init__(self) -> None:
        super().__init__(
            "Đây là mã bàn giao hồ sơ. Hãy nhập ngày sinh của người có hồ sơ để xác nhận.",
            "This is a record handover code. Type the date of birth of the person whose "
            "record it is, to confirm.",
        )


class BirthDateMismatch(HsskError):
    """The birth date given with a handover code is not the record's."""

    code = "birth_date_mismatch"

    def __init__(self) -> None:
        super().__init__(
            "Ngày sinh không khớp với hồ sơ. Hãy kiểm tra lại với người đưa mã: cộng tác viên, "
            "nhà trường (sai 3 lần thì mã hết hiệu lực).",
            "The date of birth does not match the record. Check it with whoever gave you the "
            "code: the collaborator, the school (after 3 wrong tries the code stops working).",
        )


class InviteNeedsWard(HsskError):
    """An invite or handover code opened on a phone that has joined no ward, and too old to
    name its ward's campaign."""

    code = "invite_needs_ward"

    def __init__(self) -> None:
        super().__init__(
            "Đây là mã mời của người thân. Trước hết hãy quét mã QR trên tờ hướng dẫn của "
            "phường, rồi bấm “Nhận lời mời hoặc mã bàn giao” và dán lại mã này.",
            "This is an invite from a relative. First scan the QR code on your ward's "
            "instruction sheet, then press “Accept an invite or a handover” and paste it again.",
        )


class NotAGuardian(HsskError):
    """A school's guardian slip redeemed from an account whose number the school did not
    list for the student."""

    code = "not_a_guardian"

    def __init__(self) -> None:
        super().__init__(
            "Số điện thoại của tài khoản này không có trong danh sách phụ huynh mà nhà trường "
            "gửi. Hãy đăng nhập bằng số đã đăng ký với nhà trường, hoặc nhờ nhà trường sửa "
            "danh sách.",
            "This account's phone number is not on the list of guardians the school sent. Sign "
            "in with the number the school has, or ask the school to correct its list.",
        )


class AgeRefused(HsskError):
    """A guardian slip for a student who is 18 now, or a claim before the 18th birthday."""

    code = "age_refused"

    def __init__(self, adult: bool) -> None:
        if adult:
            super().__init__(
                "Học sinh đã tròn 18 tuổi: hồ sơ giờ do chính em nhận, phụ huynh không nhận "
                "được nữa.",
                "The student is 18 now: the record is theirs to claim, no longer a guardian's.")
        else:
            super().__init__(
                "Chưa tròn 18 tuổi: từ ngày sinh nhật thứ 18 mới nhận được hồ sơ của mình.",
                "Not 18 yet: a person claims their own record from their 18th birthday.")


class InviteRefused(HsskError):
    """A genuine invite code the server will not honour any more."""

    code = "invite_refused"

    def __init__(self) -> None:
        super().__init__(
            "Lời mời này đã được dùng, đã hết hạn, hoặc không còn hiệu lực. Hãy nhờ người đưa mã "
            "(người thân, nhà trường) tạo mã mới.",
            "This invite has been used, has expired, or is no longer valid. Ask whoever gave "
            "it (your relative, the school) for a new code.",
        )


class WrongPassword(HsskError):
    """Signing in: the server did not accept the phone number and password."""

    code = "wrong_password"

    def __init__(self) -> None:
        super().__init__("Số điện thoại hoặc mật khẩu chưa đúng.",
                         "The phone number or password is wrong.")


class UnsentChanges(HsskError):
    """Signing out would drop changes that have not reached the server."""

    code = "unsent_changes"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"Còn {count} thay đổi chưa được máy chủ nhận. Hãy đồng bộ (hoặc xem các thay đổi "
            "bị từ chối) trước khi đăng xuất, để không mất dữ liệu.",
            f"{count} changes have not been accepted by the server yet. Sync (or look at the "
            "rejected ones) before signing out, so that nothing is lost.")
        self.count = count


class RejectedChanges(HsskError):
    """Signing out would drop changes the server refused (each shown with its reason on the
    pending-changes screen): only a person who has looked at them may let them go."""

    code = "rejected_changes"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"Máy chủ đã từ chối {count} thay đổi (xem lý do ở mục Thay đổi chưa gửi). Nếu đã "
            "xem và chắc chắn, hãy chọn \"Đăng xuất và bỏ các thay đổi bị từ chối\".",
            f"The server refused {count} changes (see why under Unsent changes). If you have "
            "looked and are sure, choose \"Sign out and drop the refused changes\".")
        self.count = count


class DeviceHoldsRecords(HsskError):
    """Signing in to another account on a device that holds records of its own."""

    code = "device_holds_records"

    def __init__(self) -> None:
        super().__init__(
            "Máy này đang giữ hồ sơ của tài khoản riêng, nên không đăng nhập tài khoản khác "
            "được. Hãy dùng một máy khác.",
            "This device holds records of its own account, so it cannot sign in to another. "
            "Use another device.",
        )


class InstitutionalRecord(HsskError):
    """Correcting a record that a health facility (a source) sent: only it may."""

    code = "institutional_record"

    def __init__(self) -> None:
        super().__init__(
            "Số liệu này do cơ sở y tế gửi nên chỉ cơ sở đó sửa được. Nếu thấy sai, hãy báo "
            "cho cơ sở y tế hoặc cán bộ phường.",
            "This was sent by a health facility, so only that facility can correct it. If it "
            "is wrong, tell the facility or the ward's health worker.",
        )


class PhoneTaken(HsskError):
    """Creating an account: the phone number belongs to another account already."""

    code = "phone_taken"

    def __init__(self) -> None:
        super().__init__(
            "Số điện thoại này đã có tài khoản. Hãy dùng số khác, hoặc gọi đường dây nóng.",
            "This phone number already has an account. Use another, or call the hotline.",
        )


class AccountHasPhone(HsskError):
    """Creating an account: this device's account has a phone number already."""

    code = "account_has_phone"

    def __init__(self) -> None:
        super().__init__("Máy này đã có tài khoản rồi.", "This device has an account already.")


class ImageUnreadable(HsskError):
    """The bytes are not an image we can safely decode."""

    code = "image_unreadable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Không đọc được ảnh ({detail}). Hãy chọn ảnh JPEG hoặc PNG khác.",
            f"Cannot read the image ({detail}). Choose another JPEG or PNG.",
        )


class NoCodeInImage(HsskError):
    """The image decoded but held no readable QR code."""

    code = "no_code_in_image"

    def __init__(self) -> None:
        super().__init__(
            "Không tìm thấy mã QR trong ảnh. Hãy chụp lại gần hơn, đủ sáng.",
            "No QR code found in the image. Take it again closer, in good light.",
        )


class SyncError(HsskError):
    """A sync round did not complete. The outbox is kept and retried later."""

    code = "sync_error"


class ServerUnreachable(SyncError):
    """No connection to the server."""

    code = "server_unreachable"

    def __init__(self) -> None:
        super().__init__(
            "Chưa kết nối được máy chủ. Dữ liệu vẫn được lưu trên máy và sẽ gửi sau.",
            "Cannot reach the server. Your data is kept on this device and will be sent later.",
        )


class NotRegistered(SyncError):
    """The device has no server credentials yet (no campaign joined)."""

    code = "not_registered"

    def __init__(self) -> None:
        super().__init__(
            "Thiết bị chưa đăng ký với máy chủ. Hãy quét mã QR của phường.",
            "This device is not registered with a server. Scan your ward's QR code.",
        )


class AuthRejected(SyncError):
    """The server refused the device's credentials."""

    code = "auth_rejected"

    def __init__(self) -> None:
        super().__init__(
            "Máy chủ từ chối thông tin đăng nhập của thiết bị.",
            "The server refused this device's credentials.",
        )


class BatchConflict(SyncError):
    """The server already holds a different body under this batch id."""

    code = "batch_conflict"

    def __init__(self) -> None:
        super().__init__(
            "Máy chủ đã nhận một gói khác cùng mã. Gói này được giữ lại để kiểm tra.",
            "The server already holds a different batch under this id. It is kept for review.",
        )


class ServerRejected(SyncError):
    """The server answered with an error; its reason is shown and the batch stays queued."""

    code = "server_rejected"

    def __init__(self, status: int, reason: str, server_code: str = "") -> None:
        super().__init__(
            f"Máy chủ từ chối dữ liệu ({status}): {reason}",
            f"The server rejected the data ({status}): {reason}",
        )
        self.status = status
        self.reason = reason
        self.server_code = server_code  # the error's stable code, e.g. "birth_date_mismatch"
