// A device's health error in words an officer understands: what is wrong and what to ask the station to do.
// The station agent reports faults as English sentences (its `health` message's `error`); each known one is matched
// here by a stable part of its wording (not the port, path or delay it names), so a reworded detail still matches.
// The raw sentence stays beside the explanation for the installer.
"use strict";

const INSTALLER = "请联系安装人员处理";
const FAULTS = [
  // edge/drivers/modbus_bus.py: the people counter on its RS-485 line.
  [/serial port .* unavailable|cannot open serial port/i, "人流计数器的通信口（RS-485 转换器）打不开",
    "请站点检查采集终端上的 RS-485 转换器是否插好；仍不行" + INSTALLER],
  [/^unit \d+ on .*(no response|timed? ?out|timeout)/i, "人流计数器无应答（通信超时）",
    "请站点检查人流计数器是否通电、通信线是否松脱"],
  [/^unit \d+ on .*(exception reply|registers in reply)/i, "人流计数器回复的数据不对（地址或型号设置可能有误）",
    `${INSTALLER}，核对计数器的设置`],
  [/^unit \d+ on /i, "人流计数器通信出错", "请站点检查人流计数器是否通电、通信线是否松脱"],
  // edge/drivers/door.py: a contact that keeps flipping (loose magnet, interference); a 4-wire magnet's tamper loop or
  // a door that never closes (a cut wire reads as open).
  [/contact chattering/i, "门磁信号来回跳动（磁铁松动或线路受干扰），门的开关可能记录不准",
    "请站点检查门磁和磁铁是否松动、是否对齐；仍不行" + INSTALLER],
  [/wire cut|tamper/i, "门磁线路断开或被拆", "请站点检查门磁及连线是否完好"],
  // edge/face: the camera's stream, the face gallery and its key, the face-recognition software.
  [/cannot open \w+ source|cannot open video|stopped delivering frames/i, "人脸识别摄像头连接不上（没有画面）",
    "请站点检查摄像头电源和网线；仍不行" + INSTALLER],
  [/no frames could be decoded|cannot read image|no such file/i, "人脸识别摄像头的视频源无法读取", INSTALLER],
  [/no face gallery/i, "本站尚未录入老人人脸，人脸识别未启动", "请站点按说明为老人录入人脸"],
  [/does not decrypt/i, "人脸库密钥不对或人脸库文件损坏，人脸识别未启动", INSTALLER],
  [/ELDERCARE_GALLERY_KEY/, "人脸库密钥未设置或不合要求，人脸识别未启动", `${INSTALLER}，设置本站的人脸库密钥`],
  [/upgrade the agent/i, "人脸库由更新版本的程序写入，需升级采集终端程序", INSTALLER],
  [/face stack|scripts\/setup|face_recognition|OpenCV Zoo|cannot be compared/i, "人脸识别软件未装好或版本不符", INSTALLER],
  // edge/keeper.py and edge/outbox_repair.py: the agent's store of readings waiting to be sent (its SD card).
  [/outbox disk full/i, "采集终端存储卡已满，新读数暂存内存（断电会丢失）", `${INSTALLER}，清理或更换存储卡`],
  [/outbox cannot store/i, "采集终端写不进存储卡，新读数暂存内存（断电会丢失）", `${INSTALLER}，检查存储卡`],
  [/outbox file damaged/i, "采集终端的待发数据文件损坏，已自动另存并重建，部分未发送的读数可能丢失",
    `${INSTALLER}，检查或更换存储卡`],
  // edge/supervise.py: any driver that crashed or stopped is restarted with backoff.
  [/driver crashed|driver stopped/i, "设备程序异常退出，正在自动重启", `如反复出现，${INSTALLER}`],
];
const UNKNOWN_FAULT = ["设备报告故障", `${INSTALLER}（下方为设备原文）`];

const Faults = {
  // [what is wrong, what to do] for an `error` (null or empty: a fault reported without a reason).
  explain(error) {
    const found = error ? FAULTS.find(([pattern]) => pattern.test(error)) : null;
    return found ? [found[1], found[2]] : UNKNOWN_FAULT;
  },

  // The device table's cell: the explanation, the request, and the raw sentence in small grey text (and tooltip).
  cell(error) {
    const [what, ask] = Faults.explain(error);
    return el("div", { class: "fault", "data-testid": "fault", title: error || "" },
      el("span", { class: "error" }, what), el("div", {}, ask),
      error ? el("div", { class: "muted raw", "data-testid": "fault-raw", lang: "en" }, error) : null);
  },
};
window.Faults = Faults;
