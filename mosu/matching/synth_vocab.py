"""Hand-written vocabularies for the synthetic relevance set (written for mosu, fictional).

Each capability has tag forms (how a supplier labels its model) and paraphrases (how a
description or a scenario may say the same thing in other words: 智能客服 vs 在线客服机器人,
公文写作 vs 材料起草), so that a scenario's words do not simply equal its suppliers' words.
"""

from __future__ import annotations

# key: (layer, tag forms, paraphrases)
CAPABILITIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "customer_service": (
        "application",
        ("智能客服", "在线客服"),
        ("在线客服机器人", "自动应答坐席", "7×24小时自动答复咨询", "人机协同接待来电来访"),
    ),
    "doc_writing": (
        "application",
        ("公文写作", "写作助手"),
        ("材料起草", "文稿自动生成", "通知、请示、报告等文书辅助撰写", "讲话稿和简报初稿生成"),
    ),
    "kb_qa": (
        "model",
        ("知识库问答", "检索增强生成"),
        ("基于内部文档的问答", "企业知识检索与回答", "RAG问答系统", "政策文件智能检索问答"),
    ),
    "ticket_routing": (
        "application",
        ("工单分拨", "智能派单"),
        (
            "热线工单自动分派到承办部门",
            "诉求分类与转派",
            "来电事项智能归类派发",
            "工单要素自动提取与流转",
        ),
    ),
    "asr": (
        "model",
        ("语音识别", "语音转写"),
        ("通话录音实时转成文字", "方言与普通话听写", "会议语音自动记录", "电话语音转文本"),
    ),
    "tts": (
        "model",
        ("语音合成", "智能外呼"),
        ("自然人声播报", "自动拨打回访电话", "语音通知批量外呼", "拟人化语音播报"),
    ),
    "medical_imaging": (
        "application",
        ("医学影像", "影像辅助诊断"),
        ("CT与核磁片子的病灶识别", "肺结节自动检出", "放射科阅片辅助", "眼底照片筛查"),
    ),
    "emr": (
        "application",
        ("病历生成", "病历质控"),
        ("门诊记录自动书写", "诊疗文书结构化", "住院病案质量检查", "医生口述生成病程记录"),
    ),
    "triage": (
        "application",
        ("智能导诊", "预问诊"),
        ("患者就诊前症状询问与科室推荐", "挂号分诊引导", "线上问诊前置采集", "就医路径指引"),
    ),
    "drug_rd": (
        "model",
        ("药物研发", "分子生成"),
        ("候选化合物筛选", "蛋白结构预测辅助新药设计", "靶点发现", "化学分子性质预测"),
    ),
    "homework": (
        "application",
        ("作业批改", "智能批改"),
        ("作文自动评分与点评", "数学解题步骤判分", "试卷扫描自动阅卷", "练习错题分析"),
    ),
    "adaptive_learning": (
        "application",
        ("个性化学习", "自适应学习"),
        ("按学情推送练习", "学习路径定制", "知识点掌握度诊断", "因材施教的学习推荐"),
    ),
    "oral_eval": (
        "application",
        ("口语测评", "发音评测"),
        ("英语口语自动打分", "朗读发音纠正", "听说考试模拟评分", "普通话水平测试辅助"),
    ),
    "lesson_prep": (
        "application",
        ("教案生成", "教学助手"),
        ("备课课件自动制作", "教学设计初稿生成", "课堂活动方案编写", "教师备课辅助"),
    ),
    "robo_advisor": (
        "application",
        ("智能投顾", "投研助手"),
        ("研报自动解读与观点提炼", "资产配置建议", "财富管理问答", "行业研究资料速读"),
    ),
    "risk_control": (
        "model",
        ("智能风控", "反欺诈"),
        ("交易异常行为识别", "信贷申请欺诈拦截", "可疑资金流动预警", "授信风险评估模型"),
    ),
    "claims": (
        "application",
        ("智能理赔", "保单审核"),
        ("理赔材料自动审核", "车险定损照片识别", "医疗票据核验", "赔付单据信息抽取"),
    ),
    "compliance": (
        "application",
        ("合规审查", "反洗钱"),
        ("监管条文比对检查", "可疑交易报告生成", "内控制度合规核查", "营销话术合规检测"),
    ),
    "visual_qc": (
        "application",
        ("工业质检", "缺陷检测"),
        ("产线外观瑕疵自动识别", "零部件表面划痕检测", "焊缝质量视觉检查", "PCB板缺陷识别"),
    ),
    "predictive_maint": (
        "application",
        ("预测性维护", "设备运维"),
        ("设备故障提前预警", "振动数据异常分析", "机组健康状态评估", "停机风险预测"),
    ),
    "scheduling": (
        "application",
        ("排产优化", "供应链优化"),
        ("生产计划自动编排", "订单交期与产能平衡", "物料需求测算", "车间调度求解"),
    ),
    "digital_twin": (
        "application",
        ("数字孪生", "三维建模"),
        ("工厂虚拟仿真", "城市三维实景还原", "设备运行孪生监测", "园区可视化仿真推演"),
    ),
    "text2image": (
        "model",
        ("文生图", "图像生成"),
        ("根据文字描述画出海报", "宣传插画自动绘制", "商品图批量制作", "创意视觉素材生成"),
    ),
    "video_gen": (
        "model",
        ("视频生成", "文生视频"),
        ("短视频自动剪辑成片", "宣传片素材生成", "图片转动态视频", "文案一键生成视频"),
    ),
    "digital_human": (
        "application",
        ("数字人", "虚拟主播"),
        ("虚拟形象播报讲解", "AI主持人", "二十四小时直播带货分身", "三维虚拟人交互"),
    ),
    "tour_guide": (
        "application",
        ("智能导览", "讲解服务"),
        ("景区语音讲解员", "展品背后故事解说", "游客行程智能规划", "博物馆参观路线推荐"),
    ),
    "embodied_manip": (
        "model",
        ("具身智能", "机器人操作"),
        ("机械臂抓取与分拣", "双臂协作完成装配", "视觉引导的机器人动作规划", "人形机器人作业"),
    ),
    "embodied_nav": (
        "application",
        ("服务机器人", "自主导航"),
        ("室内移动配送", "大厅迎宾引导机器人", "巡逻机器人", "楼宇内自主移动送物"),
    ),
    "contract_review": (
        "application",
        ("合同审查", "合同审核"),
        ("协议条款风险提示", "采购合同比对", "租赁协议漏洞识别", "法务审核辅助"),
    ),
    "case_search": (
        "application",
        ("类案检索", "法律检索"),
        ("相似判例查找", "裁判文书智能检索", "法条关联推荐", "案例要旨提取"),
    ),
    "legal_qa": (
        "application",
        ("法律咨询", "普法问答"),
        ("群众法律问题自动解答", "劳动纠纷咨询机器人", "公共法律服务热线辅助", "诉讼流程指引"),
    ),
    "event_detect": (
        "application",
        ("视频分析", "事件识别"),
        (
            "摄像头画面中占道经营识别",
            "乱堆物料自动发现",
            "城市管理问题智能抓拍",
            "监控视频异常行为告警",
        ),
    ),
    "traffic_signal": (
        "application",
        ("信号配时", "交通优化"),
        ("路口红绿灯自适应控制", "拥堵路段疏导方案", "车流量预测与绿波协调", "公交优先信号"),
    ),
    "remote_sensing": (
        "model",
        ("遥感解译", "卫星遥感"),
        ("航拍影像地物分类", "违法建筑变化监测", "耕地非农化识别", "无人机图像判读"),
    ),
    "compute_rental": (
        "compute",
        ("算力租赁", "智算中心"),
        ("GPU服务器按需出租", "训练集群托管", "国产加速卡资源池", "弹性云上训练推理资源"),
    ),
    "inference_accel": (
        "compute",
        ("推理加速", "模型压缩"),
        ("低延迟模型部署优化", "量化蒸馏降低显存", "高并发推理服务", "端侧小型化部署"),
    ),
    "data_labeling": (
        "corpus",
        ("数据标注", "语料清洗"),
        ("训练样本人工打标", "文本去重脱敏", "高质量数据集构建", "图片框选与分类标注"),
    ),
    "corpus_supply": (
        "corpus",
        ("高质量语料", "行业数据集"),
        ("专业领域训练文本供给", "版权清晰的图书语料", "行业知识数据包", "多语种平行语料"),
    ),
    "private_deploy": (
        "service",
        ("私有化部署", "模型精调"),
        ("在本地机房上线大模型", "行业数据二次训练", "内网环境一体机交付", "领域适配微调"),
    ),
    "model_eval": (
        "service",
        ("模型评测", "安全评估"),
        ("大模型能力测评报告", "生成内容安全测试", "备案前安全自评估", "红队对抗测试"),
    ),
    "translation": (
        "model",
        ("机器翻译", "同声传译"),
        ("多语种文档互译", "会议实时双语字幕", "外文资料快速翻译", "跨境商务沟通翻译"),
    ),
    "code_gen": (
        "model",
        ("代码生成", "智能编程"),
        ("自动补全与写程序", "研发助手生成单元测试", "老旧系统代码迁移", "自然语言生成SQL"),
    ),
    "doc_parse": (
        "model",
        ("文档解析", "OCR"),
        ("扫描件文字识别", "表格与票据结构化提取", "证照信息自动录入", "纸质档案数字化"),
    ),
    "policy_match": (
        "application",
        ("政策匹配", "惠企政策"),
        ("企业可申报补贴自动推送", "扶持条件智能比对", "免申即享政策找企业", "政策计算器"),
    ),
    "meeting_minutes": (
        "application",
        ("会议纪要", "会议助手"),
        ("开会内容自动整理成纪要", "讨论要点与待办提取", "会议录音摘要", "督办事项自动生成"),
    ),
    "emergency": (
        "application",
        ("应急指挥", "应急管理"),
        ("突发事件处置预案生成", "灾情信息汇总研判", "防汛防台调度辅助", "应急资源调配"),
    ),
    "marketing": (
        "application",
        ("营销文案", "内容营销"),
        ("商品卖点文案批量撰写", "社交媒体推文生成", "广告创意脚本", "种草笔记自动写作"),
    ),
    "agent_platform": (
        "service",
        ("智能体", "工作流编排"),
        (
            "零代码搭建业务助手",
            "多步骤任务自动执行",
            "连接内部系统的自动化代理",
            "企业级AI助理平台",
        ),
    ),
}

# key: (surface forms, customer types)
DOMAINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "政务": (
        ("政务", "政府服务", "机关办公", "数字政府"),
        ("区政府办公室", "委办局", "街道办事处"),
    ),
    "12345热线": (
        ("12345热线", "市民热线", "政务服务便民热线", "接诉即办"),
        ("热线中心", "城运中心"),
    ),
    "医疗": (("医疗", "医院", "诊疗服务", "卫生健康"), ("三甲医院", "社区卫生服务中心", "卫健委")),
    "教育": (("教育", "中小学教学", "校园", "课堂教学"), ("中学", "教育局", "高校")),
    "金融": (("金融", "银行业务", "证券", "保险"), ("城商行", "证券公司", "保险公司")),
    "制造": (
        ("制造", "工厂", "生产线", "工业企业"),
        ("汽车零部件厂", "电子制造企业", "装备制造集团"),
    ),
    "文旅": (("文旅", "旅游景区", "博物馆", "文化场馆"), ("景区管委会", "博物馆", "文旅局")),
    "具身智能": (("具身智能", "机器人应用", "智能装备"), ("机器人整机厂", "物流园区", "养老机构")),
    "法律": (("法律", "司法", "律所", "法院"), ("律师事务所", "基层法院", "司法局")),
    "城市治理": (
        ("城市治理", "城市管理", "一网统管", "基层治理"),
        ("城管局", "城运中心", "街道网格中心"),
    ),
    "交通": (("交通", "道路交通", "公共交通", "交通管理"), ("交警支队", "公交集团", "交通委")),
    "能源": (("能源", "电网", "新能源电站", "供电"), ("供电公司", "光伏电站", "燃气集团")),
    "零售": (("零售", "电商", "商超", "消费品牌"), ("连锁商超", "电商平台", "消费品牌方")),
}

# capabilities that plausibly serve each domain, used to draw suppliers' domain experience
DOMAIN_CAPS: dict[str, tuple[str, ...]] = {
    "政务": (
        "doc_writing",
        "kb_qa",
        "meeting_minutes",
        "policy_match",
        "customer_service",
        "doc_parse",
        "private_deploy",
        "agent_platform",
    ),
    "12345热线": ("customer_service", "ticket_routing", "asr", "tts", "kb_qa", "meeting_minutes"),
    "医疗": ("medical_imaging", "emr", "triage", "drug_rd", "asr", "kb_qa", "customer_service"),
    "教育": (
        "homework",
        "adaptive_learning",
        "oral_eval",
        "lesson_prep",
        "digital_human",
        "translation",
    ),
    "金融": (
        "robo_advisor",
        "risk_control",
        "claims",
        "compliance",
        "customer_service",
        "doc_parse",
        "code_gen",
    ),
    "制造": (
        "visual_qc",
        "predictive_maint",
        "scheduling",
        "digital_twin",
        "embodied_manip",
        "code_gen",
    ),
    "文旅": ("tour_guide", "digital_human", "text2image", "video_gen", "marketing", "translation"),
    "具身智能": (
        "embodied_manip",
        "embodied_nav",
        "compute_rental",
        "data_labeling",
        "inference_accel",
    ),
    "法律": ("contract_review", "case_search", "legal_qa", "doc_parse", "kb_qa"),
    "城市治理": (
        "event_detect",
        "remote_sensing",
        "emergency",
        "digital_twin",
        "ticket_routing",
        "traffic_signal",
    ),
    "交通": ("traffic_signal", "event_detect", "digital_twin", "scheduling"),
    "能源": ("predictive_maint", "remote_sensing", "scheduling", "digital_twin"),
    "零售": ("marketing", "text2image", "video_gen", "digital_human", "customer_service"),
}

REGIONS = (
    "上海",
    "上海",
    "上海",
    "全国",
    "全国",
    "北京",
    "杭州",
    "深圳",
    "南京",
    "苏州",
    "合肥",
    "成都",
)
SCENARIO_REGIONS = ("上海", "上海", "徐汇区", "全国", "杭州", "苏州")
NAME_PLACES = (
    "上海",
    "徐汇",
    "漕河泾",
    "浦江",
    "滨江",
    "北京",
    "杭州",
    "深圳",
    "苏州",
    "南京",
    "合肥",
    "成都",
)
NAME_CORES = (
    "澜序",
    "星河",
    "鹿鸣",
    "启明",
    "云岫",
    "知微",
    "青禾",
    "墨子",
    "汇川",
    "远帆",
    "灵犀",
    "观澜",
    "九章",
    "天枢",
    "北辰",
    "曜石",
    "松果",
    "栖梧",
    "玄机",
    "清源",
    "若水",
    "沧海",
    "方圆",
    "拾光",
    "百川",
    "泓达",
    "弈智",
    "识途",
    "繁星",
    "极光",
    "临渊",
    "晨曦",
    "万象",
    "锦程",
    "听雨",
    "映月",
    "衡山",
    "致远",
    "明镜",
    "深蓝",
    "朗月",
    "飞鸿",
    "翰墨",
    "司南",
    "璞玉",
    "景行",
    "开物",
    "格物",
)
NAME_KINDS = (
    "智能科技",
    "人工智能",
    "信息技术",
    "数据科技",
    "机器人",
    "智算科技",
    "网络科技",
    "软件",
)
MODEL_SUFFIX = ("大模型", "行业模型", "助手", "引擎", "平台", "一体机")
FLUFF = (
    "公司依托自研大模型技术，坚持场景驱动，",
    "团队核心成员来自知名高校和互联网企业，",
    "已获得多项发明专利与软件著作权，",
    "致力于让人工智能真正落地产业，",
    "拥有完整的数据闭环与工程化交付能力，",
    "产品支持公有云、混合云多种交付方式，",
)
CASE_TEMPLATES = (
    "为{customer}建设{cap}系统，{para}，上线后效率显著提升。",
    "在{domain}领域落地{cap}项目：{para}。",
    "{customer}{cap}试点：{para}，获得用户好评。",
)
SCENARIO_TEMPLATES = (
    "{customer}希望引入人工智能，实现{para}，要求{para2}。",
    "面向{domain}场景，需要{para}，并能够{para2}。",
    "当前人工处理压力大，拟采购{para}的解决方案，兼顾{para2}。",
    "{customer}计划开展试点：{para}；同时考虑{para2}。",
)
SCENARIO_TITLES = (
    "{domain}{para}试点",
    "{domain}领域{tag}需求",
    "{customer}{para}项目",
    "{domain}{tag}应用场景征集",
)
