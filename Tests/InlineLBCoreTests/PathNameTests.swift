import InlineLBCore
import Testing

@Suite("Path names")
struct PathNameTests {
    @Test(arguments: [
        ("o", ".", "o", "o"),
        ("out/", ".", "out", "out"),
        ("a/b.json", "a", "b.json", "b"),
        ("/x", "/", "x", "x"),
        ("/", "/", "/", "/"),
        ("./c/.hidden", "./c", ".hidden", ".hidden"),
        ("d/e.tar.gz", "d", "e.tar.gz", "e.tar"),
    ])
    func aPathSplitsIntoFolderBaseAndStem(path: String, folder: String, base: String, stem: String)
    {
        #expect(PathName.folder(of: path) == folder)
        #expect(PathName.base(of: path) == base)
        #expect(PathName.stem(of: path) == stem)
    }
}
